"""Keras models to `.tflite` files that LiteRT runs: on a phone's CPU, its
GPU (LiteRT's GPU accelerator) and Qualcomm's NPU. Long because
`to_tflite` documents each of its options where it takes them (a hundred
lines of docstring), and the translator's export shares its checks.

`to_tflite` traces the model once with fixed input shapes (batch 1 and
the sequence length by default: no SHAPE arithmetic at run time), with
its layers in the lowered forms of the file's target (`lowering`),
converts it in the converter worker (`converter`), restricted to TFLite's
builtin operators unless the caller opts in to Flex, and runs it beside
the Keras model to report the difference and the latency (`runtime`).
"""

import pathlib
import tempfile
import warnings

import numpy as np

from keras_attn.export import _defaults
from keras_attn.export import _specs
from keras_attn.export import calibration
from keras_attn.export import lowering
from keras_attn.export import tagger
from keras_attn.export.accelerators import accelerator_names
from keras_attn.export.converter import SIGNATURE
from keras_attn.export.converter import convert_saved_model
from keras_attn.export.runtime import check_tflite
from keras_attn.export.saved_model import model_endpoint
from keras_attn.export.saved_model import write_saved_model

QUANTIZATIONS = (None, "float16", "dynamic_int8", "int8")


def _check_arguments(
    path,
    quantization,
    representative_data,
    batch_size,
    float_ops,
    gpu_delegate=False,
):
    if gpu_delegate not in (True, False):
        raise ValueError(
            f"`gpu_delegate` must be True or False; received {gpu_delegate!r}."
        )
    if gpu_delegate and quantization in ("dynamic_int8", "int8"):
        raise ValueError(
            "MediaPipe's GPU delegate computes float files (float32 "
            "weights, or float16 ones): export with quantization=None or "
            f"'float16' for it; received quantization={quantization!r}."
        )
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
    if float_ops and quantization != "int8":
        raise ValueError(
            "`float_ops` selects operators to leave out of int8 "
            f"quantization; received it with quantization={quantization!r}."
        )


def _lower_and_convert(
    model,
    path,
    specs,
    quantization,
    calibration_rows,
    gpu_delegate=False,
    **convert_options,
):
    """The model lowered for `quantization`'s target (int8: with the
    residual scales and hidden splits its calibration rows give), written
    as a SavedModel and converted to `path`; the converter's
    `ExportReport`."""
    options = {}
    if quantization == "int8":
        options = calibration.int8_options(model, calibration_rows)
        convert_options["float_scopes"] = lowering.float_scopes(model)
    target = lowering.target_for(quantization, gpu_delegate)
    lowered = lowering.lower(model, target, **options)
    outputs = _specs.output_names(model)
    with tempfile.TemporaryDirectory() as scratch:
        write_saved_model(
            scratch,
            # The lowered model's outputs under the model's own names.
            {SIGNATURE: model_endpoint(lowered, specs, outputs)},
            [model],
        )
        return convert_saved_model(
            scratch,
            path,
            quantization=quantization,
            calibration=calibration_rows,
            input_names=list(specs),
            **convert_options,
        )


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
    accelerators=None,
    soc_models=None,
    gpu_delegate=False,
    **translator_options,
):
    """Exports a Keras model (or a `Translator`) to a `.tflite` file.

    The model is traced with fixed shapes (batch `batch_size`, every
    unknown length `sequence_length`, by default the length the model was
    trained at), converted with TFLite's builtin
    operators only in the converter worker process, then run with the
    LiteRT interpreter next to the Keras model on sample inputs.

    A tagger (a model with a `word_starts` input: `TokenClassifier`,
    `bert_token_classifier`) takes `word_starts` int32 `(1, T - 2)` beside
    the text inputs `(1, T)` and gives `tag_logits` `(1, T - 2, tags)`,
    one row per word (logits, as every `to_tflite` file; a softmax is
    the app's). A `TokenClassifier`'s file always carries its vocabulary
    (`vocab.txt`), casing (`tokenizer.json`) and tags (`tags.txt`) as
    TFLite Metadata, so the file is all an app needs
    (`keras_attn.export.tagger`, `report.metadata`); a functional tagger
    model has no tokenizer, so its file has none. For a `TokenClassifier`,
    `representative_data` and `sample_data` may also be sentences (lists
    of words), encoded as the task encodes them; calibrate int8 on
    sentences like those the app will tag (for example
    `to_tflite(tagger, path, quantization="int8",
    representative_data=train_sentences[:200])`), and tag with the file
    alone through `keras_attn.export.tagger.tag_file(path, sentences)`.

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
        sequence_length: the length every unknown (`None`) input
            dimension is traced at. None (the default) takes the length
            the model was trained at from its task preprocessor
            (`model.preprocessor.sequence_length`, keras-hub's tasks and
            keras_attn's); a model of unknown length without one is
            refused, naming `sequence_length`. An int exports at that
            length (at most the size of the model's learned position
            table; a `UserWarning` when it is not the trained length).
            `"dynamic"` keeps the length unknown: the file takes any
            length, but computes shapes at run time (SHAPE, REDUCE_PROD
            operators: slower, and phone accelerators refuse it). A
            model whose inputs are all fixed ignores it.
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
        accelerators: None, `"gpu"`, `"npu"` or both in a tuple: also
            compile the file for LiteRT's GPU accelerator (both
            precisions, run on the first sample batch and compared with
            the CPU) and for
            Qualcomm's NPU (`soc_models`, default every SoC LiteRT lists),
            and put what they made of it in `report.accelerators`
            (`keras_attn.export.accelerators`).
        soc_models: Qualcomm SoC names for the NPU check.
        gpu_delegate: bool. Trace attention and layer norm in the forms
            TFLite's GPU delegate computes (the one MediaPipe Tasks
            selects with `delegate: "GPU"`; on the web, WebGL 2): the
            attention products without BATCH_MATMUL and every broadcast
            one-sided (`export._gpu_delegate_forms`). The file still runs
            on the CPU and gives Keras's outputs, with memory `T S H d`
            per attention product: meant for short inputs (a ViT's
            patches), float files only.

    Returns:
        An `ExportReport` (operators, size, max differences, latency, and
        the accelerator checks asked for).

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
    from keras_attn.models import Translator

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
    _check_arguments(
        path,
        quantization,
        representative_data,
        batch_size,
        float_ops,
        gpu_delegate,
    )
    sequence_length, note = _defaults.tflite_length(model, sequence_length)
    tagger.check_length(model, sequence_length)
    contents = tagger.contents(model)
    if note:
        warnings.warn(note, UserWarning, stacklevel=2)
    options = dict(
        quantization=quantization,
        representative_data=tagger.network_rows(model, representative_data),
        sequence_length=sequence_length,
        batch_size=batch_size,
        allow_flex=allow_flex,
        sample_data=tagger.network_rows(model, sample_data),
        num_samples=num_samples,
        calibration_steps=calibration_steps,
        float_ops=float_ops,
        num_threads=num_threads,
        measure_latency=measure_latency,
        latency_runs=latency_runs,
        timeout=timeout,
        accelerators=accelerators,
        soc_models=soc_models,
        gpu_delegate=gpu_delegate,
    )
    if contents is None:
        return _to_tflite(model, path, **options)
    # A tagger task: the file, then its vocabulary and tags put in.
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        plain = pathlib.Path(scratch) / path.name
        report = _to_tflite(model, plain, **options)
        report.metadata = tagger.write_file(
            plain, path, model, contents, sequence_length
        )
    report.path = str(path)
    report.size_bytes = path.stat().st_size
    return report


def _to_tflite(
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
    accelerators=None,
    soc_models=None,
    gpu_delegate=False,
):
    """`to_tflite` of a Keras model at a length already chosen
    (`sequence_length`: an int, or None for dynamic or fixed shapes), for
    the exporters that choose it themselves (`to_mediapipe`)."""
    _check_arguments(
        path,
        quantization,
        representative_data,
        batch_size,
        float_ops,
        gpu_delegate,
    )
    accelerators = accelerator_names(accelerators)
    specs = _specs.input_specs(model, batch_size, sequence_length)
    calibration_rows = None
    if quantization == "int8":
        calibration_rows = _specs.collect(
            representative_data, specs, calibration_steps
        )
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = _lower_and_convert(
        model,
        path,
        specs,
        quantization,
        calibration_rows,
        gpu_delegate=gpu_delegate,
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

    check_tflite(
        report,
        reference,
        batches,
        num_threads=num_threads,
        measure_latency=measure_latency,
        runs=latency_runs,
    )
    if accelerators:
        from keras_attn.export import accelerators as checks

        report.accelerators = [
            check.to_dict()
            for check in checks.check_accelerators(
                path, batches[0], accelerators, soc_models
            )
        ]
    return report


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

    from keras_attn.models.translator import END_ID
    from keras_attn.models.translator import START_ID
    from keras_attn.models.translator import decoding

    if source_length is not None and not _defaults.positive_int(source_length):
        raise ValueError(
            "The on-device translator takes a fixed number of source ids: "
            "`source_length` (`sequence_length` of `to_tflite`) must be a "
            "positive int, or None for the translator's max_source_length; "
            f"received {source_length!r}."
        )
    source_length = source_length or translator.max_source_length
    max_length = max_length or translator.max_target_length
    if not str(path).endswith(".tflite"):
        raise ValueError(
            f"The output path must end in .tflite; received {path!r}."
        )
    model = translator.model
    parts = decoding.translator_parts(model)
    spec = tf.TensorSpec((1, source_length), tf.int32, name="source_ids")
    # The loop calls the layers in their lowered float forms (no id check
    # in the graph: LiteRT's GATHER checks ids itself).
    lowered_call = lowering.Lowering("float").call

    def translate(source_ids):
        tokens = decoding.greedy_tokens(
            parts,
            source_ids,
            max_length,
            START_ID,
            END_ID,
            use_cache=True,
            call=lowered_call,
        )
        return {"tokens": tokens}

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        write_saved_model(scratch, {SIGNATURE: (translate, [spec])}, [model])
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
    "to_tflite",
    "translator_to_tflite",
]
