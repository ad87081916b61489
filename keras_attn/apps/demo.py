"""The quick-start job: a Vision Transformer from training to the phone.

`keras-attn demo` trains `vit_digits` on scikit-learn's bundled 8x8 digits
with `model.fit`, exports it to LiteRT (TFLite) as float32 and as full
int8, runs both files with the LiteRT interpreter on the held-out images,
and prints one table: accuracy, largest output difference from Keras,
size and latency per image. Its artifacts (the `.keras` model, both
`.tflite` files, `results.json`, training curves and attention maps) go to
one folder. Nothing is downloaded: the digits ship inside scikit-learn.
The text part (`run_text`, in `demo_text`) does the same for a MiniLM
sentence classifier.

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

    Example (tests/models/test_vit_digits.py trains it for 40 epochs):

    >>> model, history = train_vit_digits(epochs=1, verbose=0)
    >>> model.output_shape, len(history.history["loss"])
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


def plot_digit_attention(model, images, labels, path, count=8):
    """The class token's attention rollout over `count` digits, as a PNG.

    Each digit is drawn twice, side by side: the image in grey, then the
    rollout of the class token over its patches on one colour scale for
    the whole figure, with a colour bar (the share of the class token's
    attention that reaches each patch).

    Example:

    >>> import os, tempfile
    >>> from keras_attn import models
    >>> _, x_test, _, y_test = load_digits_split()
    >>> path = os.path.join(tempfile.mkdtemp(), "maps.png")
    >>> plot_digit_attention(models.vit_classifier(10, "vit_digits"),
    ...                      x_test, y_test, path, count=4)
    >>> os.path.getsize(path) > 0
    True
    """
    from keras_attn import models
    from keras_attn import viz

    plt = viz._pyplot()
    images, labels = images[:count], labels[:count]
    count = len(images)
    maps = models.attention_maps(model, images)
    rollout = viz.attention_rollout(maps)  # (count, T, T)
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    height, width = images.shape[1:3]
    patch = height // int(np.sqrt(rollout.shape[-1] - 1))
    shares = np.stack(
        [
            viz.upsample_attention(rollout[i, 0, 1:], (height, width), patch)
            for i in range(count)
        ]
    )
    shares = shares / shares.sum(axis=(1, 2), keepdims=True) * patch**2
    pairs = min(count, 4)
    rows = int(np.ceil(count / pairs))
    figure, axes = plt.subplots(
        rows,
        2 * pairs,
        figsize=(2.2 * 2 * pairs, 2.5 * rows),
        squeeze=False,
        layout="constrained",
    )
    top = float(shares.max())
    drawn = None
    for index in range(rows * pairs):
        digit, heat = axes.flat[2 * index], axes.flat[2 * index + 1]
        digit.axis("off")
        heat.axis("off")
        if index >= count:
            continue
        digit.imshow(images[index, ..., 0], cmap="gray_r")
        digit.set_title(
            f"true {labels[index]}, predicted {predicted[index]}", fontsize=9
        )
        drawn = heat.imshow(shares[index], cmap="inferno", vmin=0.0, vmax=top)
        heat.set_title("attention", fontsize=9)
    colorbar = figure.colorbar(drawn, ax=axes, shrink=0.8)
    colorbar.set_label("share of the class token's attention per patch")
    figure.suptitle("Where the class token looks (attention rollout)")
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _mediapipe_file(model, output, say):
    """The float32 model with the metadata MediaPipe's ImageClassifier
    reads: RGB pixels 0..255 in (averaged to grey and scaled to 0..1
    inside the file), the digit names, probabilities out."""
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
        labels=[str(digit) for digit in range(10)],
        normalization=(0.0, 255.0),
        grayscale="mean",
        probabilities=True,
        measure_latency=False,
    )
    return name


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
    `training_curves.png` and `attention_maps.png`.

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
    return dict(results, output=str(output))


__all__ = [
    "DIGITS_RECIPE",
    "format_table",
    "load_digits_split",
    "minilm_checkpoint",
    "plot_digit_attention",
    "plot_training",
    "run",
    "run_text",
    "train_vit_digits",
]
