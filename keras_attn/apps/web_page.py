"""The demo's web page: draw a digit, the ViT reads it in the browser.

`write_page` writes a static folder (`index.html`, `app.js`, `style.css`,
`page.json`, the npm `package.json` and its lock file, and two `.tflite`
files) that a person opens through `keras-attn serve FOLDER` after
`npm install --prefix FOLDER`. The page runs both files with MediaPipe's
web Tasks (`@mediapipe/tasks-vision`), on the CPU delegate by default
(a selector switches to the GPU delegate and shows its error if it
refuses a file):

- the classifier (`vit_digits_mediapipe.tflite`, an `image_classifier`
  with the softmax inside) gives the ten probabilities;
- the attention file (`vit_digits_attention.tflite`) is an
  `image_embedder` whose "embedding" is the class token's attention
  rollout over the 4x4 patches, `attention_rollout_model`, the map
  `attention_maps.png` draws. An `ImageEmbedder` returns its output
  vector as is (with `l2Normalize` and `quantize` off), so the same
  MediaPipe bundle, pixel path and delegate run both files; LiteRT.js
  would need a second runtime in the page and its own pixel handling.

The page's Content-Security-Policy (`connect-src 'self'`) keeps every
request on the server it came from, MediaPipe's usage-log posts
included (no Tasks option turns those off).

The page turns a drawing into the digits' 8x8 form as scikit-learn's
data was made (32x32 bitmaps, ink counted in 4x4 blocks, 0..16): ink is
dark on the canvas, the ink's box is centred and scaled to fill the
square (the digits are size-normalised), and each of the 8x8 blocks
becomes its share of ink, written as a grey pixel of 0..255 that
MediaPipe passes to the files (averaged over R, G, B inside them and
divided by 255 as their metadata says: the demo's [0, 1]). The page
shows the grid it fed in and keeps it in the `data-grid` attribute of
`#input` (64 integers), so a test can run Keras on exactly that image.
"""

import json
import pathlib
import shutil

WEB = pathlib.Path(__file__).resolve().parent / "web"
# The page's own files, copied as they are.
PAGE_FILES = ("index.html", "app.js", "style.css")
# The pinned npm packages the page loads (`npm install` reads them).
NPM_FILES = ("package.json", "package-lock.json")
CLASSIFIER_FILE = "vit_digits_mediapipe.tflite"
ATTENTION_FILE = "vit_digits_attention.tflite"


def attention_rollout_model(model):
    """A model from images to the class token's attention rollout.

    The rollout `plot_digit_attention` draws (Abnar and Zuidema, 2020):
    per layer the attention averaged over heads, plus the identity for
    the skip connection, rows renormalised; the layers multiplied, last
    on the left; the class token's row over the patches, rescaled to sum
    to one. The class token's row is carried as a `(batch, 1, tokens)`
    vector through elementwise products and sums (no batched matrix
    product, no shrinking slice), which MediaPipe's GPU delegate takes
    more readily. It calls `model`'s own layers (`attention_model`), so
    it shares the weights.

    Args:
        model: a `vit_classifier` or ViT backbone with a class token.

    Returns:
        keras.Model: `model`'s image input to `(batch, patches)` shares.

    Example:

    >>> import numpy as np
    >>> from keras_attn import models, viz
    >>> vit = models.vit_classifier(10, "vit_digits", num_layers=2)
    >>> images = np.random.default_rng(0).random((2, 8, 8, 1), "float32")
    >>> shares = np.asarray(attention_rollout_model(vit)(images))
    >>> rollout = viz.attention_rollout(models.attention_maps(vit, images))
    >>> expected = rollout[:, 0, 1:] / rollout[:, 0, 1:].sum(-1, keepdims=True)
    >>> shares.shape, bool(np.allclose(shares, expected, atol=1e-6))
    ((2, 16), True)
    """
    import keras
    from keras import ops

    from keras_attn import models

    explainer = models.attention_model(model)
    images = keras.Input(model.input.shape[1:], name="images")
    scores = explainer(images)["attention_scores"]
    row = None
    for name in reversed(explainer.attention_layer_names):
        fused = ops.mean(scores[name], axis=1)  # (B, T, T)
        tokens = fused.shape[-1]
        fused = fused + ops.eye(tokens)
        fused = fused / ops.sum(fused, axis=-1, keepdims=True)
        if row is None:
            row = fused[:, 0:1, :]  # (B, 1, T): the class token's row
        else:  # row @ fused, as a product and a sum over the rows
            column = ops.reshape(row, (-1, tokens, 1))  # (B, T, 1)
            row = ops.sum(column * fused, axis=1, keepdims=True)  # (B, 1, T)
    patches = ops.reshape(row[:, :, 1:], (-1, tokens - 1))  # (B, P)
    shares = patches / ops.sum(patches, axis=-1, keepdims=True)
    shares = keras.layers.Identity(name="attention")(shares)
    return keras.Model(images, shares, name=f"{model.name}_rollout")


def export_attention(model, path):
    """Writes `attention_rollout_model(model)` as a MediaPipe
    `image_embedder` taking RGB pixels 0..255 (grey averaged inside the
    file, scaled by MediaPipe from the file's metadata), as the
    classifier file does. Returns `to_mediapipe`'s report.

    Example (not run with the docstrings: an export takes seconds;
    tests/web/test_demo_page.py runs it in Chromium):

    >>> from keras_attn import models
    >>> vit = models.vit_classifier(10, "vit_digits")
    >>> export_attention(vit, "attention.tflite")  # doctest: +SKIP
    """
    return _export_rollout(attention_rollout_model(model), path)


def _export_rollout(rollout, path):
    from keras_attn.export import to_mediapipe

    return to_mediapipe(
        rollout,
        path,
        "image_embedder",
        normalization=(0.0, 255.0),
        grayscale="mean",
        measure_latency=False,
    )


def write_page(model, folder, classifier=None, labels=None):
    """Writes the draw-a-digit page for `model` to `folder`.

    Args:
        model: the demo's `vit_classifier` (8x8 grey images, a class
            token).
        folder: the page's folder (created if missing).
        classifier: the MediaPipe `image_classifier` file of `model`
            (`to_mediapipe(..., "image_classifier", normalization=(0,
            255), grayscale="mean", probabilities=True)`), copied into
            the folder; None exports it there.
        labels: the class names; None: the digits 0..9.

    Returns:
        pathlib.Path of the folder.

    Raises:
        ValueError: `model` takes no square grey image.

    Example (not run with the docstrings: it exports two files):

    >>> from keras_attn import models
    >>> vit = models.vit_classifier(10, "vit_digits")
    >>> write_page(vit, "web")  # doctest: +SKIP
    PosixPath('web')
    """
    from keras_attn.export import to_mediapipe

    shape = tuple(model.input.shape[1:])
    if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 1:
        raise ValueError(
            "The digits page draws square grey images: expected a model "
            f"taking (size, size, 1); received input shape {shape}."
        )
    labels = [str(d) for d in range(10)] if labels is None else labels
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES + NPM_FILES:
        shutil.copyfile(WEB / name, folder / name)
    if classifier is None:
        to_mediapipe(
            model,
            folder / CLASSIFIER_FILE,
            "image_classifier",
            labels=labels,
            normalization=(0.0, 255.0),
            grayscale="mean",
            probabilities=True,
            measure_latency=False,
        )
    else:
        shutil.copyfile(classifier, folder / CLASSIFIER_FILE)
    rollout = attention_rollout_model(model)
    _export_rollout(rollout, folder / ATTENTION_FILE)
    patches = rollout.output.shape[-1]
    config = {
        "classifier": CLASSIFIER_FILE,
        "attention": ATTENTION_FILE,
        "labels": list(labels),
        "image_size": shape[0],
        "patch_grid": round(patches**0.5),
    }
    (folder / "page.json").write_text(json.dumps(config, indent=2) + "\n")
    return folder


def serve_page(folder, node_modules, port=8000, say=None):
    """Serves a page folder until Ctrl-C (`keras-attn serve`).

    `folder` at `/` and `node_modules` at `/node_modules/`, on
    127.0.0.1 only (`web_server.serve`); says the URL, then waits.

    Args:
        folder: the page's folder (`write_page`'s).
        node_modules: the npm packages' folder (`npm install --prefix
            folder` makes `folder/node_modules`).
        port: int. The port; 0 takes a free one.
        say: called with the line that gives the URL; None prints it
            (flushed, for a reader on a pipe).

    Raises:
        FileNotFoundError: a folder does not exist.
        OSError: the port cannot be taken.

    Example (not run with the docstrings: it serves until Ctrl-C):

    >>> serve_page("keras-attn-demo/web",
    ...            "keras-attn-demo/web/node_modules")  # doctest: +SKIP
    Serving keras-attn-demo/web at http://127.0.0.1:8000/ (Ctrl-C stops)
    """
    import functools
    import threading

    from keras_attn.apps.web_server import serve

    say = say or functools.partial(print, flush=True)
    with serve({"/": folder, "/node_modules/": node_modules}, port) as base:
        say(f"Serving {folder} at {base}/ (Ctrl-C stops)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            say("Stopped.")


__all__ = [
    "ATTENTION_FILE",
    "CLASSIFIER_FILE",
    "attention_rollout_model",
    "export_attention",
    "serve_page",
    "write_page",
]
