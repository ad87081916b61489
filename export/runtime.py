"""Running `.tflite` files with the LiteRT interpreter and comparing
them with the Keras model (parity and latency)."""

import os
import time

import numpy as np

from keras_attn.export import integrity
from keras_attn.export.converter import SIGNATURE
from keras_attn.export.report import tensor_info


class LiteRTRunner:
    """One signature of a `.tflite` file, called like a function.

    Args:
        path: the `.tflite` file.
        signature: the signature key; defaults to the file's only one.
        num_threads: interpreter threads.
        verify: bool. Check the file with `verify_tflite` first (its
            checksum, or a run in a child process for a file made
            elsewhere), so a damaged file raises `CorruptModelError`
            instead of giving wrong outputs or crashing this process.

    Calling it with `{input name: array}` returns `{output name: array}`.

    Example:

    >>> import keras, numpy as np, tempfile, os
    >>> from keras_attn.export import to_tflite, LiteRTRunner
    >>> inputs = keras.Input((4,), name="x")
    >>> model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "dense.tflite")
    >>> _ = to_tflite(model, path, measure_latency=False)
    >>> runner = LiteRTRunner(path)
    >>> out = runner({"x": np.ones((1, 4), "float32")})
    >>> out["y"].shape
    (1, 2)
    """

    def __init__(self, path, signature=None, num_threads=2, verify=True):
        from ai_edge_litert.interpreter import Interpreter

        if verify:
            integrity.verify_tflite(path)
        self.interpreter = Interpreter(
            model_path=os.fspath(path), num_threads=num_threads
        )
        keys = list(self.interpreter.get_signature_list())
        if signature is None:
            if len(keys) != 1:
                raise ValueError(
                    f"{path} has signatures {keys}; name the one to run."
                )
            signature = keys[0]
        if signature not in keys:
            raise ValueError(
                f"{path} has no signature {signature!r}; it has {keys}."
            )
        self.signature = signature
        self.runner = self.interpreter.get_signature_runner(signature)
        self.input_details = self.runner.get_input_details()
        self.output_details = self.runner.get_output_details()

    def __call__(self, inputs):
        expected = set(self.input_details)
        if set(inputs) != expected:
            raise ValueError(
                f"Expected inputs {sorted(expected)}; received "
                f"{sorted(inputs)}."
            )
        feed = {}
        for name, value in inputs.items():
            dtype = self.input_details[name]["dtype"]
            feed[name] = np.asarray(value).astype(dtype, copy=False)
        return self.runner(**feed)

    def latency_ms(self, inputs, runs=20, warmup=3):
        """Median wall time of one call on `inputs`, in milliseconds."""
        for _ in range(warmup):
            self(inputs)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            self(inputs)
            times.append(time.perf_counter() - start)
        return float(np.median(times) * 1000)


def compare(reference, candidate):
    """Max absolute and relative differences, per output name."""
    absolute, relative = {}, {}
    for name, expected in reference.items():
        expected = np.asarray(expected, "float64")
        got = np.asarray(candidate[name], "float64")
        if got.shape != expected.shape:
            raise AssertionError(
                f"Output {name!r}: TFLite shape {got.shape}, Keras "
                f"{expected.shape}."
            )
        diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        absolute[name] = max(absolute.get(name, 0.0), diff)
        relative[name] = max(
            relative.get(name, 0.0), diff / scale if scale else diff
        )
    return absolute, relative


def accumulate(absolute, relative, expected, got):
    """Folds one batch's differences into running per-output maxima."""
    expected = {name: np.asarray(value) for name, value in expected.items()}
    got = {name: np.asarray(value) for name, value in got.items()}
    step_abs, step_rel = compare(expected, got)
    for name in step_abs:
        absolute[name] = max(absolute.get(name, 0.0), step_abs[name])
        relative[name] = max(relative.get(name, 0.0), step_rel[name])


def check_tflite(
    report, reference_fn, batches, num_threads=2, measure_latency=True, runs=20
):
    """Fills `report`'s parity and latency by running the file on `batches`.

    `reference_fn` maps an input batch to the expected `{output: array}`.
    """
    runner = LiteRTRunner(report.path, SIGNATURE, num_threads=num_threads)
    report.inputs = tensor_info(runner.input_details)
    report.outputs = tensor_info(runner.output_details)
    absolute, relative = {}, {}
    for batch in batches:
        accumulate(absolute, relative, reference_fn(batch), runner(batch))
    report.max_abs_diff, report.max_rel_diff = absolute, relative
    report.samples = len(batches)
    report.num_threads = num_threads
    if measure_latency:
        report.latency_ms = runner.latency_ms(batches[0], runs=runs)
    return report
