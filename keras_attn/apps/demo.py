"""The quick-start job: a Vision Transformer from training to the phone.
Long because it is the whole quick-start job, each step (training, the
exports and their checks, the pictures, the web page) a function of its
own that the tests re-run.

`keras-attn demo` trains `vit_digits` on scikit-learn's bundled 8x8 digits
with `model.fit`, exports it to LiteRT (TFLite) as float32 and as full
int8, runs both files with the LiteRT interpreter on the held-out images,
and prints one table: accuracy, largest output difference from Keras,
size and latency per image. Its artifacts (the `.keras` model, both
`.tflite` files, `results.json`, training curves and attention maps) go to
one folder, with a web page where a person draws a digit for the model
(`web_page`). Nothing is downloaded: the digits ship inside
scikit-learn. The text part (`run_text`, in `demo_text`) does the same
for a MiniLM sentence classifier.

Floor 5, an application; `keras_attn.demo` stays for old imports.
"""

import json
import pathlib

import numpy as np

from keras_attn.apps._table import format_table
from keras_attn.apps._table import keras_row
from keras_attn.apps._table import litert_row
from keras_attn.apps.demo_text import minilm_checkpoint
from keras_attn.apps.demo_text import run_text

# The recipe of the digits accuracy test: 40 epochs of batch 32, no
# dropout, no XLA (see benchmarks/vit_digits.py for the figures).
DIGITS_RECIPE = {
    "epochs": 40,
    "batch_size": 32,
    "learning_rate": 2e-3,
    "dropout": 0.0,
    "label_smoothing": 0.0,
    "jit_compile": False,
}


# What the digits ViT's MediaPipe file takes and gives: RGB pixels 0..255
# (grey inside the file, scaled to 0..1 as the metadata says), the
# digits' names, probabilities.
MEDIAPIPE_OPTIONS = {
    "labels": [str(digit) for digit in range(10)],
    "normalization": (0.0, 255.0),
    "grayscale": "mean",
    "probabilities": True,
}


def load_digits_split(seed=0):
    """scikit-learn's digits as `(x_train, x_test, y_train, y_test)`.

    Images `(n, 8, 8, 1)` float32 in [0, 1], integer labels; a stratified
    80/20 split (1,437 and 360 images) with `random_state=seed`: the
    library's `keras_attn.data.digits_split`, the quick start's data.

    Example:

    >>> from keras_attn.demo import load_digits_split
    >>> x_train, x_test, y_train, y_test = load_digits_split()
    >>> x_train.shape, x_test.shape, float(x_train.max())
    ((1437, 8, 8, 1), (360, 8, 8, 1), 1.0)
    """
    from keras_attn import data

    return data.digits_split(seed)


def train_vit_digits(
    epochs=100,
    batch_size=64,
    learning_rate=2e-3,
    dropout=0.1,
    label_smoothing=0.0,
    seed=0,
    jit_compile="auto",
    verbose="auto",
    validation_freq=1,
):
    """Trains `vit_classifier(10, "vit_digits")` on the digits.

    AdamW (weight decay 0.05) with a linear warm-up over the first tenth
    of the steps, then cosine decay; the held-out images are the
    validation data of `model.fit`.

    Args:
        epochs: int. Training epochs.
        batch_size: int. Training batch size.
        learning_rate: float. Peak learning rate.
        dropout: float. The model's dropout rate.
        label_smoothing: float. Label smoothing of the cross-entropy.
        seed: int. Seeds Keras (weights, shuffling) and the split.
        jit_compile: passed to `model.compile`.
        verbose: the progress shown (`training.fit_progress`): `"auto"`
            (a live bar on a terminal, one line per epoch otherwise),
            `"bar"`, `"epoch"`, `"none"`, or Keras's 0, 1, 2.
        validation_freq: int. Evaluate the held-out images every this
            many epochs (it does not change the training).

    Returns:
        `(model, history)`: the trained model (logits out) and the
        `keras.callbacks.History` of the fit.

    Example (not run with the docstrings, to save the suite 14 s:
    tests/models/vit/test_vit_digits.py trains it for 40 epochs and
    tests/test_demo.py for 2):

    >>> model, history = train_vit_digits(epochs=1, verbose=0)  # doctest: +SKIP
    >>> model.output_shape, len(history.history["loss"])  # doctest: +SKIP
    ((None, 10), 1)
    """
    import keras

    from keras_attn import models
    from keras_attn.training import fit_progress

    fit_verbose, callbacks = fit_progress(verbose)
    keras.utils.set_random_seed(seed)
    x_train, x_test, y_train, y_test = load_digits_split(seed)
    one_hot = np.eye(10, dtype="float32")
    model = models.vit_classifier(10, "vit_digits", dropout=dropout)
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=learning_rate, warmup_steps=steps // 10
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.05),
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=label_smoothing
        ),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    history = model.fit(
        x_train,
        one_hot[y_train],
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(x_test, one_hot[y_test]),
        validation_freq=validation_freq,
        verbose=fit_verbose,
        callbacks=callbacks,
    )
    return model, history


def plot_training(history, path):
    """Loss and accuracy per epoch, training and held-out, as a PNG.

    `training.plot_history` with the demo's title: markers on every
    value, whole epochs on the axis, and the values written out for a
    one-epoch run. Returns its (saved and closed) matplotlib Figure.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> figure = plot_training({"loss": [2.0, 1.0], "accuracy": [0.3, 0.7],
    ...                         "val_loss": [1.5, 0.9],
    ...                         "val_accuracy": [0.5, 0.8]}, path)
    >>> os.path.getsize(path) > 0, [ax.get_ylabel() for ax in figure.axes]
    (True, ['loss', 'accuracy'])
    """
    from keras_attn.training import plot_history

    return plot_history(
        history, path, title="vit_digits on scikit-learn's digits"
    )


def _classes(name, values):
    """`values` as a 1-D array of class indices, or a ValueError."""
    array = np.asarray(values)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be a 1-D array of integer class indices; "
            f"received shape {array.shape}, dtype {array.dtype}."
        )
    return array


def choose_attention_examples(labels, predicted, count=8):
    """Which held-out examples to draw: some right, the mistakes too.

    Up to half of `count` (at least one) are mistakes, whenever
    `predicted` has any; the rest are classified correctly, one per true
    class before any class repeats. If there are too few of one kind,
    the other fills the places. Correct ones come first, then the
    mistakes, each kind in held-out order.

    Args:
        labels: 1-D array of true class indices.
        predicted: 1-D array of predicted class indices, as long.
        count: int >= 1. How many to choose (fewer if there are fewer).

    Returns:
        NumPy int array of indices into `labels`.

    Raises:
        ValueError: `labels` and `predicted` are not 1-D arrays of class
            indices of one length, or `count` is not an int >= 1.

    Example:

    >>> labels = [0, 0, 1, 2, 3, 3]
    >>> predicted = [0, 0, 7, 2, 3, 5]  # examples 2 and 5 are wrong
    >>> choose_attention_examples(labels, predicted, count=4).tolist()
    [0, 3, 2, 5]
    """
    labels = _classes("labels", labels)
    predicted = _classes("predicted", predicted)
    if labels.shape != predicted.shape:
        raise ValueError(
            "`labels` and `predicted` must have one entry per example: "
            f"received {len(labels)} labels and {len(predicted)} "
            "predictions."
        )
    integer = isinstance(count, (int, np.integer)) and count is not True
    if not integer or count < 1:
        raise ValueError(f"`count` must be an int >= 1; received {count!r}.")
    wrong = np.flatnonzero(labels != predicted)
    right = np.flatnonzero(labels == predicted)
    mistakes = min(len(wrong), max(1, count // 2))
    corrects = min(len(right), count - mistakes)
    mistakes = min(len(wrong), count - corrects)
    # One correct example per class first, then the others, in order.
    seen, first, later = set(), [], []
    for index in right:
        (later if labels[index] in seen else first).append(int(index))
        seen.add(labels[index])
    chosen_right = sorted((first + later)[:corrects])
    chosen_wrong = [int(index) for index in wrong[:mistakes]]
    return np.array(chosen_right + chosen_wrong, dtype="int64")


ROLLOUT_CAPTION = (
    "Colour: how much the class token's output draws on each patch after "
    "attention rollout across all layers (Abnar and Zuidema, 2020); "
    "brighter = more; each panel on its own scale (its range in the title)."
)
ROLLOUT_TERMS = (
    "The class token is the extra learned token the classifier reads its "
    "answer from; attention rollout multiplies every layer's attention "
    "(averaged over heads, plus the skip connection) to follow it back to "
    "the patches."
)


def plot_digit_attention(model, images, labels, path, count=8):
    """The class token's attention rollout drawn over held-out digits.

    The ViT classifies from its class token: an extra learned token,
    before the 16 patch tokens, whose last state the head reads.
    Attention rollout (Abnar and Zuidema, 2020) follows that token back
    through every layer: each layer's attention, averaged over heads with
    the identity added for the skip connection, multiplied layer by
    layer; its class-token row says how much of the class token's output
    comes from each patch (`viz.attention_rollout`).

    Each panel draws a digit in grey under that rollout, a
    semi-transparent colour map (one value per patch,
    `viz.upsample_attention`) on the panel's own scale, as the shares
    differ little (uniform is 1/16); the title gives the true and
    predicted digit and the range of shares. `choose_attention_examples`
    picks the digits: up to half are mistakes (titled in red) when the
    model makes any. A caption says what the colours mean.

    Args:
        model: a `vit_classifier` (logits or probabilities out).
        images: `(n, height, width, 1)` held-out images.
        labels: `(n,)` their true classes.
        path: where to write the PNG.
        count: int. How many digits to draw. Defaults to 8.

    Returns:
        The matplotlib Figure, saved and closed.

    Example:

    >>> import os, tempfile
    >>> from keras_attn import models
    >>> _, x_test, _, y_test = load_digits_split()
    >>> path = os.path.join(tempfile.mkdtemp(), "maps.png")
    >>> figure = plot_digit_attention(models.vit_classifier(10, "vit_digits"),
    ...                               x_test, y_test, path, count=4)
    >>> os.path.getsize(path) > 0, len(figure.axes)
    (True, 4)
    >>> "attention rollout" in figure.get_supxlabel()
    True
    """
    import textwrap

    from keras_attn import models
    from keras_attn import viz

    labels = _classes("labels", labels)
    if np.ndim(images) != 4 or not len(images) == len(labels) > 0:
        raise ValueError(
            "`images` must be (n, height, width, channels), n >= 1, one "
            f"image per label ({len(labels)} labels); received shape "
            f"{np.shape(images)}."
        )
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    chosen = choose_attention_examples(labels, predicted, count)
    images = np.asarray(images)[chosen]
    maps = models.attention_maps(model, images)
    rollout = viz.attention_rollout(maps)[:, 0, 1:]  # (count, patches)
    shares = rollout / rollout.sum(axis=-1, keepdims=True)
    patch = images.shape[1] // int(np.sqrt(shares.shape[-1]))
    plt = viz._pyplot()
    columns = min(len(chosen), 4)
    rows = int(np.ceil(len(chosen) / columns))
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(2.6 * columns, 2.9 * rows + 0.9),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat[len(chosen) :]:
        ax.remove()
    for ax, index, image, share in zip(
        axes.flat, chosen, images, shares, strict=False
    ):
        wrong = predicted[index] != labels[index]
        # Ink dark on white, smoothed for the eye; the map stays one
        # value per patch, on this panel's own range (imshow's default).
        ax.imshow(image[..., 0], cmap="gray_r", interpolation="bicubic")
        upsampled = viz.upsample_attention(share, image.shape[:2], patch)
        ax.imshow(upsampled, cmap="viridis", alpha=0.5)
        ax.set_axis_off()
        ax.set_title(
            f"true {labels[index]} / predicted {predicted[index]}"
            + (" (mistake)" if wrong else "")
            + f"\npatches {share.min():.0%} to {share.max():.0%}",
            fontsize=9,
            color="firebrick" if wrong else "black",
        )
    mistakes = int(np.sum(predicted != labels))
    figure.suptitle(
        f"Where the class token looks: {len(chosen)} of {len(labels)} "
        f"held-out digits ({mistakes} misclassified in all)"
    )
    figure.supxlabel(
        textwrap.fill(ROLLOUT_CAPTION + " " + ROLLOUT_TERMS, 100), fontsize=8
    )
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return figure


def _mediapipe_file(model, output, say):
    """The float32 model with the metadata MediaPipe's ImageClassifier
    reads: RGB pixels 0..255 in (averaged to grey inside the file,
    scaled to 0..1 by MediaPipe as the file's metadata says), the digit
    names, probabilities out; traced for MediaPipe's GPU delegate too
    (`gpu_delegate=True`: the same numbers on the CPU)."""
    from keras_attn.export import to_mediapipe

    name = "vit_digits_mediapipe.tflite"
    say(
        f"[4/5] Writing {name}: an app passes an image to MediaPipe's "
        "ImageClassifier and gets the digit's name and probability"
    )
    to_mediapipe(
        model,
        output / name,
        "image_classifier",
        measure_latency=False,
        gpu_delegate=True,
        **MEDIAPIPE_OPTIONS,
    )
    return name


def _web_page(model, output, classifier, say):
    """The draw-a-digit page in `output/web/` (`web_page.write_page`),
    with a copy of the MediaPipe classifier file `classifier` and an
    attention file of its own."""
    from keras_attn.apps import web_page

    say(
        "      Writing the web page web/: draw a digit, the model reads it "
        "in the browser through MediaPipe and shows where it looked"
    )
    web_page.write_page(
        model,
        output / "web",
        classifier=output / classifier,
    )
    return "web/"


def run(
    output="keras-attn-demo",
    epochs=DIGITS_RECIPE["epochs"],
    seed=0,
    calibration_images=200,
    num_threads=2,
    verbose=1,
    progress="auto",
):
    """Trains, exports and checks the digits ViT; returns the results.

    Writes to `output`: `vit_digits.keras`, `vit_digits_float32.tflite`,
    `vit_digits_int8.tflite`, `vit_digits_mediapipe.tflite` (for
    MediaPipe's `ImageClassifier`), `results.json` (the table's rows),
    `training_curves.png`, `attention_maps.png`, and `web/`, a page
    where a person draws a digit and the model reads it in the browser
    (`web_page.write_page`; `npm install --prefix output/web`, then
    `keras-attn serve output/web`).

    Args:
        output: folder for the artifacts (created if missing).
        epochs: int. Training epochs (40 reach about 98%).
        seed: int. Seeds the split, the weights and the shuffling.
        calibration_images: int. Training images that calibrate int8.
        num_threads: int. LiteRT interpreter threads.
        verbose: 1 for progress and the table, 0 for silence.
        progress: with `verbose`, how training and the LiteRT runs show
            progress: `"auto"` (a live bar on a terminal, one line per
            epoch and none per image otherwise), `"bar"`, `"epoch"`,
            `"none"`.

    Returns:
        `{"rows": [...], "output": str, "files": {...}}`; each row has
        `name`, `file`, `accuracy`, `max_abs_diff`, `size_bytes`,
        `ms_per_image`.

    Example (not run with the docstrings: tests/test_demo.py runs it at
    two epochs and re-runs every file it writes):

    >>> results = run("keras-attn-demo", epochs=2, verbose=0)  # doctest: +SKIP
    >>> [row["name"] for row in results["rows"]]  # doctest: +SKIP
    ['Keras', 'LiteRT float32', 'LiteRT int8']
    """
    import keras

    from keras_attn.training.progress import resolve_progress

    progress = resolve_progress(progress) if verbose else "none"
    output = pathlib.Path(output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    x_train, x_test, y_train, y_test = load_digits_split(seed)

    def say(message):
        if verbose:
            print(f"\n{message}", flush=True)

    say(
        f"[1/5] Training vit_digits with model.fit on {len(x_train)} of "
        f"scikit-learn's 8x8 digits ({len(x_test)} held out), "
        f"{epochs} epochs"
    )
    recipe = dict(DIGITS_RECIPE, epochs=epochs)
    model, history = train_vit_digits(**recipe, seed=seed, verbose=progress)
    keras_path = output / "vit_digits.keras"
    model.save(keras_path)
    row, keras_logits = keras_row(
        model, "Keras", keras_path, keras_path.name, x_test, y_test
    )
    rows = [row]
    variants = (("float32", None), ("int8", "int8"))
    for step, (label, quantization) in enumerate(variants, start=2):
        path = output / f"vit_digits_{label}.tflite"
        say(
            f"[{step}/5] Exporting {label} to {path.name} and running it "
            f"with the LiteRT interpreter on the {len(x_test)} held-out "
            "images"
        )
        rows.append(
            litert_row(
                model,
                path,
                f"LiteRT {label}",
                path.name,
                x_test,
                y_test,
                keras_logits,
                num_threads,
                progress == "bar",
                quantization=quantization,
                representative_data={"images": x_train[:calibration_images]},
            )
        )

    files = {row["name"]: row["file"] for row in rows}
    files["MediaPipe ImageClassifier"] = _mediapipe_file(model, output, say)
    files["draw-a-digit web page"] = _web_page(
        model, output, files["MediaPipe ImageClassifier"], say
    )
    say("[5/5] Drawing the training curves and attention maps")
    plot_training(history, output / "training_curves.png")
    plot_digit_attention(model, x_test, y_test, output / "attention_maps.png")
    files["training curves"] = "training_curves.png"
    files["attention maps"] = "attention_maps.png"
    results = {
        "task": "scikit-learn digits, stratified 20% held out",
        "held_out_images": len(x_test),
        "epochs": epochs,
        "seed": seed,
        "num_threads": num_threads,
        "keras_version": keras.__version__,
        "rows": rows,
        "files": files,
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if verbose:
        print("\n" + format_table(rows))
        print(f"\nArtifacts are in {output}:")
        for name, file in files.items():
            print(f"  {file:30s} {name}")
        print("  results.json                   the table above")
        web = output / "web"
        print(
            "\nTo draw digits for the model in a browser (the npm packages "
            "once, then the page, offline):"
        )
        print(f"  npm install --prefix {web}")
        print(f"  keras-attn serve {web}")
    return dict(results, output=str(output))


__all__ = [
    "DIGITS_RECIPE",
    "MEDIAPIPE_OPTIONS",
    "format_table",
    "choose_attention_examples",
    "load_digits_split",
    "minilm_checkpoint",
    "plot_digit_attention",
    "plot_training",
    "run",
    "run_text",
    "train_vit_digits",
]
