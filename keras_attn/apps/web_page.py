"""The demo's web page: draw a digit, the ViT reads it in the browser.

`write_page` writes a static folder (`index.html`, `app.js`, `style.css`,
`page.json`, the npm `package.json` and its lock file, and two `.tflite`
files) that a person opens through `keras-attn serve FOLDER` after
`npm install --prefix FOLDER`. The page runs both files with MediaPipe's
web Tasks (`@mediapipe/tasks-vision`), on the CPU delegate by default;
a selector switches to the GPU delegate (WebGL), which runs both files
wholly, in float16: both are exported with `gpu_delegate=True`
(`export._gpu_delegate_forms`), and give Keras's numbers within 1e-5 on
the CPU:

- the classifier (`vit_digits_mediapipe.tflite`, an `image_classifier`
  with the softmax inside) gives the ten probabilities;
- the attention file (`vit_digits_attention.tflite`) is an
  `image_embedder` whose "embedding" is the class token's attention
  rollout over the 4x4 patches, `attention_rollout_model`, the map
  `attention_maps.png` draws. An `ImageEmbedder` returns its output
  vector as is (with `l2Normalize` and `quantize` off), so the same
  MediaPipe bundle, pixel path and delegate run both files; LiteRT.js
  would need a second runtime in the page and its own pixel handling.

When the demo has a text part (`demo_text.run_text`),
`add_text_classifier` adds its MediaPipe `text_classifier` file: the page
then shows a text box whose sentence MediaPipe's TextClassifier
(`@mediapipe/tasks-text`) classifies, with the probabilities as bars; on
the CPU whatever the delegate (MediaPipe's text tasks run there). Without
that file the box stays hidden.

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
TEXT_FILE = "text_classifier.tflite"


def attention_rollout_model(model):
    """A model from images to the class token's attention rollout.

    The rollout `plot_digit_attention` draws (Abnar and Zuidema, 2020):
    per layer the attention averaged over heads, plus the identity for
    the skip connection, rows renormalised; the layers multiplied, last
    on the left; the class token's row over the patches, rescaled to sum
    to one. Every tensor is `(batch, queries, keys, 1)` and every product
    is of two tensors of one shape (a broadcast is a nearest resize
    first), summed along an axis: no batched matrix product, no
    shrinking slice, as MediaPipe's GPU delegate computes them.

    `model`'s graph is re-run with its own layers (so the rollout shares
    the weights), nested sub-models flattened into it and each
    `TransformerEncoder` called with `return_attention_scores=True`
    itself: the exporter's lowering then finds the encoders in the
    rollout's graph and writes them in its forms (`gpu_delegate=True`
    included). `models.attention_model`'s graph holds wrappers instead,
    which the lowering leaves as Keras traces them.

    Args:
        model: a `vit_classifier` or ViT backbone with a class token.

    Returns:
        keras.Model: `model`'s image input to `(batch, patches)` shares.

    Raises:
        ValueError: `model`'s graph calls no `TransformerEncoder`.

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

    images = keras.Input(model.input.shape[1:], name="images")
    found = []
    _scored_run(model, [images], found)
    if not found:
        raise ValueError(
            "The attention rollout needs a model whose graph calls "
            "TransformerEncoder layers (a vit_classifier); received "
            f"{model.name!r}, which calls none."
        )
    tokens = found[0].shape[-1]
    eye = ops.reshape(ops.eye(tokens), (1, tokens, tokens, 1))
    row = None
    for scores in reversed(found):
        # (B, T, S, 1): queries, keys, one channel, as the delegate's
        # tensors are laid out; each broadcast is a nearest resize.
        heads = ops.transpose(scores, (0, 2, 3, 1))  # (B, T, S, H)
        fused = ops.mean(heads, axis=-1, keepdims=True) + eye
        fused = fused * _spread(
            1.0 / ops.sum(fused, axis=2, keepdims=True), tokens, tokens
        )
        if row is None:
            row = fused[:, 0:1]  # (B, 1, S, 1): the class token's row
        else:  # row @ fused, as a product and a sum over the rows
            column = ops.reshape(row, (-1, tokens, 1, 1))  # (B, T, 1, 1)
            spread = _spread(column, tokens, tokens)
            row = ops.sum(spread * fused, axis=1, keepdims=True)
    patches = row[:, :, 1:]  # (B, 1, P, 1)
    total = ops.sum(patches, axis=2, keepdims=True)  # (B, 1, 1, 1)
    shares = patches * _spread(1.0 / total, 1, tokens - 1)
    shares = ops.reshape(shares, (-1, tokens - 1))  # (B, P)
    shares = keras.layers.Identity(name="attention")(shares)
    return keras.Model(images, shares, name=f"{model.name}_rollout")


def _spread(x, height, width):
    """`x` `(B, 1|height, 1|width, C)` repeated to `(B, height, width,
    C)` by a nearest resize: an elementwise product of two tensors of
    one shape, where a broadcast (or a TILE, which the converter folds
    into the product) is what MediaPipe's GPU delegate computes wrongly
    or refuses (`export/_gpu_delegate_forms.py`)."""
    from keras import ops

    return ops.image.resize(x, (height, width), interpolation="nearest")


def _scored_run(model, inputs, found):
    """Runs functional `model`'s graph on the flat list `inputs`, nested
    functional models inlined, each `TransformerEncoder` called with
    `return_attention_scores=True` (its `(B, H, T, T)` scores appended
    to `found`, in the order they run); returns `model`'s outputs."""
    import keras

    from keras_attn import _compat
    from keras_attn.layers import TransformerEncoder

    def operation_fn(operation):
        if isinstance(operation, TransformerEncoder):
            scoring = _unattached(operation)

            def encoder(*args, **kwargs):
                kwargs = {**kwargs, "return_attention_scores": True}
                outputs, scores = scoring(*args, **kwargs)
                found.append(scores)
                return outputs

            return encoder
        if _compat.is_functional(operation):

            def nested(*args, **kwargs):
                return _scored_run(operation, keras.tree.flatten(args), found)

            return nested
        return operation

    return _compat.run_through_graph(model, inputs, operation_fn)


def _unattached(layer):
    """`layer` as a second object of its type on the same sublayers and
    weights, with no calls recorded: Keras's functional model takes a
    layer's output count from its first call, so the layer `model`
    already called with one output cannot give two in another graph.
    (Not `copy.copy`: Keras layers pickle, and so copy, as a new layer
    with copies of the weights.)"""
    twin = object.__new__(type(layer))
    twin.__dict__.update(layer.__dict__)
    object.__setattr__(twin, "_inbound_nodes", [])
    object.__setattr__(twin, "_outbound_nodes", [])
    return twin


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
        gpu_delegate=True,
    )


def write_page(model, folder, classifier=None, labels=None):
    """Writes the draw-a-digit page for `model` to `folder`.

    Args:
        model: the demo's `vit_classifier` (8x8 grey images, a class
            token).
        folder: the page's folder (created if missing).
        classifier: the MediaPipe `image_classifier` file of `model`
            (`to_mediapipe(..., "image_classifier", normalization=(0,
            255), grayscale="mean", probabilities=True,
            gpu_delegate=True)`), copied into the folder; None exports
            it there.
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
            gpu_delegate=True,
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


def add_text_classifier(folder, classifier, labels):
    """Adds a text classifier to the page in `folder`: a text box whose
    sentence MediaPipe's TextClassifier classifies (on the CPU).

    Args:
        folder: a page folder `write_page` wrote (it has `page.json`).
        classifier: a MediaPipe `text_classifier` file with the softmax
            inside (`to_mediapipe(model, path, "text_classifier",
            labels=..., vocabulary=..., probabilities=True)`), copied
            into the folder as `TEXT_FILE`.
        labels: the class names, in the file's order.

    Returns:
        pathlib.Path of the copied file.

    Raises:
        FileNotFoundError: `folder` has no `page.json`.

    Example (not run with the docstrings: it needs a page and a file;
    tests/web/test_demo_page.py runs it in Chromium):

    >>> add_text_classifier("web", "text/classifier_mediapipe.tflite",
    ...                     ["negative", "positive"])  # doctest: +SKIP
    PosixPath('web/text_classifier.tflite')
    """
    folder = pathlib.Path(folder)
    config_path = folder / "page.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            "add_text_classifier adds to a page write_page wrote: expected "
            f"{config_path}; it does not exist."
        )
    config = json.loads(config_path.read_text())
    shutil.copyfile(classifier, folder / TEXT_FILE)
    config.update(text_classifier=TEXT_FILE, text_labels=list(labels))
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return folder / TEXT_FILE


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
    "TEXT_FILE",
    "add_text_classifier",
    "attention_rollout_model",
    "export_attention",
    "serve_page",
    "write_page",
]
