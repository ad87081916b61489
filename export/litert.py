"""Keras models to `.tflite` files that the LiteRT interpreter runs.

The model is traced once into a SavedModel with fixed input shapes (batch
1 and the sequence length by default: no SHAPE arithmetic at run time),
converted in a worker process (TensorFlow's converter keeps memory; the
worker is replaced once it grows past `WORKER_MAX_RSS_MB`), restricted to
TFLite's builtin operators unless the caller opts in to Flex, and then run
side by side with the Keras model to report the difference and the
latency.
"""

import atexit
import contextlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from keras_attn.export import _files
from keras_attn.export import _specs
from keras_attn.export import _tflite_graph
from keras_attn.export import integrity
from keras_attn.export.report import ExportReport
from keras_attn.export.report import count_ops
from keras_attn.export.report import non_builtin_ops
from keras_attn.export.report import tensor_info
from keras_attn.layers import _tflite

QUANTIZATIONS = (None, "float16", "dynamic_int8", "int8")
SIGNATURE = "serving_default"


class UnsupportedOpsError(ValueError):
    """The model needs operators outside TFLite's builtin set.

    Attributes:
        ops: `{operator: count}` of the Flex (select TF) and custom
            operators the conversion would need.

    Example:

    >>> error = UnsupportedOpsError({"FlexMatrixDeterminant": 1})
    >>> "FlexMatrixDeterminant x1" in str(error)
    True
    """

    def __init__(self, ops, detail=None):
        self.ops = dict(ops)
        listed = ", ".join(
            f"{name} x{count}" for name, count in self.ops.items()
        )
        message = (
            "The model cannot be converted with TFLite builtin operators "
            f"only; it would need: {listed or 'operators it did not name'}. "
            "The plain LiteRT runtime cannot run Flex or custom operators. "
            "Pass allow_flex=True (--allow-flex) to export anyway, for a "
            "runtime linked with the Flex delegate."
        )
        if detail:
            message += f"\nConverter said: {detail[:2000]}"
        super().__init__(message)


def _check_arguments(path, quantization, representative_data, batch_size):
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"`quantization` must be one of {list(QUANTIZATIONS)}; received "
            f"{quantization!r}."
        )
    if not str(path).endswith(".tflite"):
        raise ValueError(
            f"The output path must end in .tflite; received {path!r}."
        )
    if quantization == "int8" and representative_data is None:
        raise ValueError(
            "Full-integer `int8` quantization needs `representative_data`: "
            "a tf.data.Dataset, a dict of arrays or a list of dicts, with "
            "inputs like those the model will see."
        )
    if batch_size is not None and (
        not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(
            "`batch_size` must be a positive int or None; received "
            f"{batch_size!r}."
        )


def write_saved_model(
    directory,
    endpoints,
    tracked,
    for_tflite=False,
    integer=False,
    residual_scales=None,
):
    """Writes `endpoints` (`{name: (function, [TensorSpec])}`) with Keras's
    ExportArchive, which freezes nothing but tracks `tracked`'s variables.

    `for_tflite` traces id lookups as a bare GATHER: TensorFlow's `Assert`
    is not a builtin operator, and LiteRT's GATHER checks ids itself.
    `integer` (with `for_tflite`) traces for integer activations: layer
    normalization and the attention softmax in forms that quantize (no
    SQUARED_DIFFERENCE, no huge fill constant; see `_tflite_graph`), and
    post-norm blocks in `residual_scales` (see `residual_scales()`) with
    their feed-forward residual sum divided down.
    """
    import keras

    archive = keras.export.ExportArchive()
    for item in tracked:
        archive.track(item)
    tracing = contextlib.ExitStack()
    if for_tflite:
        tracing.enter_context(
            _tflite.tracing(integer=integer, residual_scales=residual_scales)
        )
    if for_tflite and integer:
        tracing.enter_context(_tflite_graph.quantizable_layer_norm())
    with tracing:
        for name, (function, signature) in endpoints.items():
            archive.add_endpoint(name, function, input_signature=signature)
        archive.write_out(str(directory), verbose=False)


# A channel is divided down when its largest magnitude is over this many
# times the 90th percentile of the channels' largest magnitudes; the
# scale brings it back to that percentile.
WIDE_CHANNEL_RATIO = 2.0


def residual_scales(model, batches, chunk=32):
    """`{id(block): scales}` for the post-norm Transformer blocks of
    `model` whose feed-forward residual sum has wide channels on
    `batches` (a list of input dicts of equal shapes).

    A channel's scale is its largest magnitude over the 90th percentile
    of all channels' largest magnitudes, if that is over
    `WIDE_CHANNEL_RATIO`, else 1. On a fine-tuned all-MiniLM-L6-v2 the
    channels' largest magnitudes have a 90th percentile near 3 and reach
    220 on one channel (99); 6 to 11 channels per block get a scale.
    """
    with _tflite.observing() as observed:
        for start in range(0, len(batches), chunk):
            part = batches[start : start + chunk]
            _specs.call_model(
                model,
                {
                    name: np.concatenate([batch[name] for batch in part])
                    for name in part[0]
                },
            )
    scales = {}
    for key, (_, largest) in observed.items():
        typical = float(np.percentile(largest, 90))
        if typical <= 0:
            continue
        ratio = largest / typical
        if ratio.max() > WIDE_CHANNEL_RATIO:
            scales[key] = np.where(
                ratio > WIDE_CHANNEL_RATIO, ratio, 1.0
            ).astype("float32")
    return scales


def _model_endpoint(model, specs):
    names = list(specs)

    def serve(*arguments):
        return _specs.call_model(
            model, dict(zip(names, arguments, strict=True))
        )

    return serve, list(specs.values())


def _save_batches(path, batches):
    arrays = {}
    for index, batch in enumerate(batches):
        for name, value in batch.items():
            arrays[f"{index}/{name}"] = value
    np.savez(path, **arrays)


_CONVERTER = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "_convert.py"
)
# The worker is replaced once its resident memory passes this bound or it
# has done this many conversions (TensorFlow's converter does not give
# memory back).
WORKER_MAX_RSS_MB = 3000
WORKER_MAX_JOBS = 50


def _rss_mb(pid):
    """Resident memory of process `pid` in MB, or None where unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class _Worker:
    """A Python process running `_convert.py`, fed one job path per line."""

    def __init__(self):
        from keras_attn.export._convert import DONE

        self.done = DONE
        self.log = tempfile.TemporaryFile()
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        self.process = subprocess.Popen(
            # -P: keep this folder (saved_model.py, ...) off sys.path.
            [sys.executable, "-P", _CONVERTER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=environment,
        )
        self.jobs = 0
        self._buffer = b""

    def _log_tail(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def run(self, job_path, timeout):
        """Sends one job; waits for its DONE line or kills the worker."""
        import select

        self.process.stdin.write(job_path.encode() + b"\n")
        self.process.stdin.flush()
        marker = f"{self.done} {job_path}".encode()
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout.fileno()
        while marker not in self._buffer:
            remaining = deadline - time.monotonic()
            ready = (
                remaining > 0 and select.select([stdout], [], [], remaining)[0]
            )
            if not ready:
                self.close()
                raise TimeoutError(
                    f"The TFLite converter took more than {timeout} s and "
                    "was stopped."
                )
            chunk = os.read(stdout, 65536)
            if not chunk:
                code = self.process.wait()
                tail = self._log_tail()
                self.close()
                raise RuntimeError(
                    f"The TFLite converter process ended with code {code}. "
                    f"Its last output:\n{tail}"
                )
            self._buffer += chunk
        self._buffer = self._buffer.split(marker, 1)[1]
        self.jobs += 1

    def worn_out(self):
        rss = _rss_mb(self.process.pid)
        return self.jobs >= WORKER_MAX_JOBS or (
            rss is not None and rss > WORKER_MAX_RSS_MB
        )

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.log.close()


_worker = None


def _shutdown_worker():
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


atexit.register(_shutdown_worker)


def _run_job(job, timeout):
    """Runs `job` in the converter worker; returns its result dict."""
    global _worker
    with tempfile.TemporaryDirectory() as scratch:
        job_path = os.path.join(scratch, "job.json")
        job["result"] = os.path.join(scratch, "result.json")
        with open(job_path, "w", encoding="utf-8") as handle:
            json.dump(job, handle)
        if _worker is None:
            _worker = _Worker()
        worker = _worker
        try:
            worker.run(job_path, timeout)
        finally:
            if worker.process.poll() is not None or worker.worn_out():
                worker.close()
                _worker = None
        with open(job["result"], encoding="utf-8") as handle:
            return json.load(handle)


def convert_saved_model(
    saved_model,
    path,
    quantization=None,
    calibration=None,
    input_names=(),
    allow_flex=False,
    signature=SIGNATURE,
    float_ops=None,
    timeout=1800,
):
    """Converts a SavedModel signature to `path` in the converter worker.

    `calibration` is a list of `{input name: array}` batches (for `int8`).
    Raises UnsupportedOpsError if builtin operators do not suffice and
    `allow_flex` is False. The file at `path` is replaced (by a rename)
    only on success. Returns an `ExportReport` of the file (operators and
    size; no comparison with Keras yet).
    """
    path = pathlib.Path(path)
    _files.remove_stale(path)
    candidate = _files.partial_name(path)
    with tempfile.TemporaryDirectory() as scratch:
        calibration_path = None
        if calibration is not None:
            calibration_path = os.path.join(scratch, "calibration.npz")
            _save_batches(calibration_path, calibration)
        job = {
            "saved_model": os.fspath(saved_model),
            "signature": signature,
            "candidate": os.fspath(candidate),
            "quantization": quantization,
            "calibration": calibration_path,
            "input_names": list(input_names),
            "float_ops": list(float_ops or []),
        }
        try:
            result = _run_job(job, timeout)
            if not result["ok"]:
                raise RuntimeError(
                    "TFLite conversion failed.\nWith builtin operators: "
                    f"{result['error'][:3000]}\nWith Flex operators too: "
                    f"{result.get('error_with_select_ops', '')[:3000]}"
                )
            blob = candidate.read_bytes()
            extra = non_builtin_ops(blob)
            if extra and not allow_flex:
                raise UnsupportedOpsError(extra, result.get("error"))
            integrity.stamp(candidate)
            os.replace(candidate, path)
        finally:
            if candidate.exists():
                candidate.unlink()
    return ExportReport(
        path=str(path),
        format="tflite",
        quantization=quantization,
        size_bytes=path.stat().st_size,  # with the checksum footer
        ops=count_ops(blob),
        non_builtin_ops=extra,
    )


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


def to_tflite(
    model,
    path,
    quantization=None,
    representative_data=None,
    sequence_length=None,
    batch_size=1,
    allow_flex=False,
    sample_data=None,
    num_samples=4,
    calibration_steps=100,
    float_ops=None,
    num_threads=2,
    measure_latency=True,
    latency_runs=20,
    timeout=1800,
    **translator_options,
):
    """Exports a Keras model (or a `Translator`) to a `.tflite` file.

    The model is traced with fixed shapes (batch `batch_size`, every
    unknown length `sequence_length`), converted with TFLite's builtin
    operators only in the converter worker process, then run with the
    LiteRT interpreter next to the Keras model on sample inputs.

    Args:
        model: a Keras model (any of `keras_attn.models`; dict, list or
            single inputs), or a `keras_attn.models.Translator`, which
            exports as an on-device translator (see
            `translator_to_tflite`).
        path: the `.tflite` file to write; replaced only when the export
            succeeds.
        quantization: None (float32), `"float16"` (float16 weights),
            `"dynamic_int8"` (int8 weights, float activations) or `"int8"`
            (int8 weights and activations, calibrated on
            `representative_data`; inputs and outputs stay float32/int32).
            For `"int8"` the model is traced in forms that quantize (same
            function; the Keras model is not changed): masked attention
            scores are filled near the allowed ones instead of at -3.4e38,
            layer norm has no SQUARED_DIFFERENCE or NEG, and post-norm
            blocks whose feed-forward residual sum has a few wide channels
            on the calibration rows keep it divided down
            (`residual_scales`). Each tensor's range is the smallest and
            largest value it took on those rows.
        representative_data: for `int8`: a `tf.data.Dataset` (of inputs or
            `(inputs, labels)`), a dict of arrays or a list of dicts; rows
            are padded or cut to the exported shape.
        sequence_length: int, or None to keep text inputs' length dynamic
            (slower: the graph then computes shapes at run time).
        batch_size: int, or None for a dynamic batch.
        allow_flex: bool. Accept Flex (select TF) and custom operators
            instead of raising `UnsupportedOpsError`.
        sample_data: inputs (same forms as `representative_data`) to compare
            Keras and LiteRT on; None draws `num_samples` random valid
            batches.
        calibration_steps: int. Most calibration batches used.
        float_ops: for `int8`: TFLite operator names to keep in float32
            (selective quantization), for example `["BATCH_MATMUL"]`: on
            x86 CPUs XNNPACK has no int8 batch matmul, so the attention
            products of a full-integer model run on slow reference
            kernels. None (the default) quantizes every operator.
        num_threads: int. Interpreter threads for the check and latency.
        measure_latency: bool. Time `latency_runs` calls.
        timeout: seconds the converter process may take.

    Returns:
        An `ExportReport` (operators, size, max differences, latency).

    Example:

    >>> import os, tempfile
    >>> from keras_attn import models
    >>> from keras_attn.export import to_tflite
    >>> model = models.bert_backbone("bert_tiny", vocabulary_size=100)
    >>> path = os.path.join(tempfile.mkdtemp(), "bert.tflite")
    >>> report = to_tflite(model, path, sequence_length=16)
    >>> report.max_abs_diff["sequence_output"] < 1e-4
    True
    >>> report.non_builtin_ops
    {}
    """
    from keras_attn.models.translation import Translator

    if isinstance(model, Translator):
        return translator_to_tflite(
            model,
            path,
            source_length=sequence_length,
            num_threads=num_threads,
            measure_latency=measure_latency,
            latency_runs=latency_runs,
            timeout=timeout,
            **translator_options,
        )
    if translator_options:
        raise TypeError(
            f"Unexpected arguments {sorted(translator_options)} (they apply "
            "to Translator exports only)."
        )
    _check_arguments(path, quantization, representative_data, batch_size)
    if float_ops and quantization != "int8":
        raise ValueError(
            "`float_ops` selects operators to leave out of int8 "
            f"quantization; received it with quantization={quantization!r}."
        )
    specs = _specs.input_specs(model, batch_size, sequence_length)
    calibration = None
    if quantization == "int8":
        calibration = _specs.collect(
            representative_data, specs, calibration_steps
        )
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        endpoint = _model_endpoint(model, specs)
        write_saved_model(
            scratch,
            {SIGNATURE: endpoint},
            [model],
            for_tflite=True,
            integer=quantization == "int8",
            residual_scales=(
                residual_scales(model, calibration)
                if quantization == "int8"
                else None
            ),
        )
        report = convert_saved_model(
            scratch,
            path,
            quantization=quantization,
            calibration=calibration,
            input_names=list(specs),
            allow_flex=allow_flex,
            float_ops=float_ops,
            timeout=timeout,
        )
    if report.non_builtin_ops:
        warnings.warn(
            f"{path} uses non-builtin operators "
            f"{sorted(report.non_builtin_ops)}; "
            "the LiteRT interpreter here cannot run it, so it was not "
            "compared with the Keras model.",
            stacklevel=2,
        )
        return report
    if sample_data is not None:
        batches = _specs.collect(sample_data, specs, num_samples)
    else:
        batches = _specs.sample_inputs(model, specs, count=num_samples)

    def reference(batch):
        return _specs.call_model(model, batch)

    return check_tflite(
        report,
        reference,
        batches,
        num_threads=num_threads,
        measure_latency=measure_latency,
        runs=latency_runs,
    )


def translator_to_tflite(
    translator,
    path,
    source_length=None,
    max_length=None,
    num_samples=4,
    num_threads=2,
    measure_latency=True,
    latency_runs=10,
    timeout=1800,
):
    """Exports a `Translator` as an on-device translator.

    The `.tflite` file holds the whole greedy decoding loop: one signature,
    `serving_default`, takes `source_ids` (int32 `(1, source_length)`,
    0-padded, from the translator's SentencePiece model) and returns
    `tokens` (int32 `(1, max_length)`: the translation's pieces, the end
    token, then 0). The loop is a builtin WHILE with the decoder's key and
    value cache updated in place, so one call translates one sentence;
    the SentencePiece tokenization stays outside (it is not a builtin
    operator).

    Args:
        translator: a `keras_attn.models.Translator`.
        path: the `.tflite` file to write.
        source_length: int. Source ids per call; defaults to the
            translator's `max_source_length`.
        max_length: int. Most tokens generated; defaults to its
            `max_target_length`.

    Returns:
        An `ExportReport` whose `max_abs_diff["tokens"]` is 0 when the
        LiteRT tokens equal `greedy_decode`'s on every sample.

    Example:

    >>> import os, tempfile
    >>> from keras_attn import models
    >>> from keras_attn.export import translator_to_tflite
    >>> sentences = ["the cat sat", "le chat", "a cat", "un chat"] * 20
    >>> tokenizer = models.train_translation_tokenizer(
    ...     sentences, vocabulary_size=15)
    >>> model = models.transformer_translator(
    ...     "translator_tiny", vocabulary_size=15)
    >>> translator = models.Translator(
    ...     model, tokenizer, max_source_length=6, max_target_length=5)
    >>> path = os.path.join(tempfile.mkdtemp(), "translator.tflite")
    >>> report = translator_to_tflite(translator, path, measure_latency=False)
    >>> report.max_abs_diff, "WHILE" in report.ops
    ({'tokens': 0.0}, True)
    """
    import tensorflow as tf

    from keras_attn.models import decoding
    from keras_attn.models.translation import END_ID
    from keras_attn.models.translation import START_ID

    source_length = source_length or translator.max_source_length
    max_length = max_length or translator.max_target_length
    if not str(path).endswith(".tflite"):
        raise ValueError(
            f"The output path must end in .tflite; received {path!r}."
        )
    model = translator.model
    parts = decoding._Parts(model)
    spec = tf.TensorSpec((1, source_length), tf.int32, name="source_ids")

    def translate(source_ids):
        tokens = decoding._greedy(
            parts, source_ids, max_length, START_ID, END_ID, use_cache=True
        )
        return {"tokens": tokens}

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        write_saved_model(
            scratch,
            {SIGNATURE: (translate, [spec])},
            [model],
            for_tflite=True,
        )
        report = convert_saved_model(
            scratch, path, input_names=["source_ids"], timeout=timeout
        )
    rng = np.random.default_rng(0)
    vocabulary = parts.vocabulary_size
    batches = []
    for _ in range(num_samples):
        length = int(rng.integers(1, source_length + 1))
        ids = np.zeros((1, source_length), "int32")
        ids[0, :length] = rng.integers(4, vocabulary, size=length)
        batches.append({"source_ids": ids})

    def reference(batch):
        tokens = decoding.greedy_decode(
            model, batch["source_ids"], max_length, START_ID, END_ID
        )
        return {"tokens": np.asarray(tokens)}

    return check_tflite(
        report,
        reference,
        batches,
        num_threads=num_threads,
        measure_latency=measure_latency,
        runs=latency_runs,
    )


__all__ = [
    "QUANTIZATIONS",
    "LiteRTRunner",
    "UnsupportedOpsError",
    "count_ops",
    "non_builtin_ops",
    "to_tflite",
    "translator_to_tflite",
]
