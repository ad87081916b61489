"""The demo's results table: a model's row, Keras or a LiteRT file.

Each row is an accuracy, the largest output difference from Keras, a
size and a latency per example; `format_table` prints the rows.
"""

import time

import numpy as np


def _one(inputs, index):
    """Example `index` of an array or a dict of arrays, batch kept."""
    if isinstance(inputs, dict):
        return {k: v[index : index + 1] for k, v in inputs.items()}
    return inputs[index : index + 1]


def _count(inputs):
    return len(
        next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    )


def tflite_outputs(path, images, num_threads, bar):
    """Logits of every example (images, or a dict of model inputs), one
    interpreter call each, and the median time of a call in ms; with
    `bar`, Keras's live progress bar (for a terminal)."""
    import keras

    from keras_attn.export import LiteRTRunner

    runner = LiteRTRunner(path, num_threads=num_threads)
    progress = keras.utils.Progbar(_count(images), verbose=int(bool(bar)))
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


def keras_latency_ms(model, images, runs=50):
    model.predict_on_batch(_one(images, 0))  # traces the function once
    seconds = []
    for index in range(min(runs, _count(images))):
        start = time.perf_counter()
        model.predict_on_batch(_one(images, index))
        seconds.append(time.perf_counter() - start)
    return 1000 * float(np.median(seconds))


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


def _accuracy(logits, references):
    return float(np.mean(np.argmax(logits, -1) == references))


def keras_row(model, name, path, file, inputs, references):
    """The table's row of the Keras model, and its logits on `inputs`."""
    logits = np.asarray(model.predict(inputs, verbose=0))
    row = {
        "name": name,
        "file": file,
        "accuracy": _accuracy(logits, references),
        "max_abs_diff": None,
        "size_bytes": path.stat().st_size,
        "ms_per_image": keras_latency_ms(model, inputs),
    }
    return row, logits


def litert_row(
    model,
    path,
    name,
    file,
    inputs,
    references,
    keras_logits,
    num_threads,
    bar,
    **export_options,
):
    """Exports `model` to `path` (`export_options` for `to_tflite`), runs
    the file on `inputs` one example at a time (with `bar`, a progress
    bar), and returns its row."""
    from keras_attn.export import to_tflite

    to_tflite(
        model,
        path,
        num_threads=num_threads,
        measure_latency=False,
        **export_options,
    )
    logits, latency = tflite_outputs(path, inputs, num_threads, bar)
    return {
        "name": name,
        "file": file,
        "accuracy": _accuracy(logits, references),
        "max_abs_diff": float(np.max(np.abs(logits - keras_logits))),
        "size_bytes": path.stat().st_size,
        "ms_per_image": latency,
    }
