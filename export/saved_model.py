"""Keras models to SavedModels with named serving signatures.

With a keras-hub preprocessor (for example `load_bert_preprocessor`'s),
the default signature takes raw strings, so a server sends text and gets
logits back; the token-id signature stays available beside it.
"""

import os
import pathlib
import shutil
import time

import numpy as np

from keras_attn.errors import CorruptModelError
from keras_attn.export import _files
from keras_attn.export import _specs
from keras_attn.export.report import ExportReport
from keras_attn.export.runtime import accumulate

TEXT_SIGNATURE = "serving_default"
IDS_SIGNATURE = "serve_token_ids"
SAMPLE_TEXT = [
    "A short sentence.",
    "Another one, a little longer than the first, with punctuation!",
    "",
]


def write_saved_model(directory, endpoints, tracked):
    """Writes `endpoints` (`{name: (function, [TensorSpec])}`) with Keras's
    ExportArchive, which freezes nothing but tracks `tracked`'s variables.
    """
    import keras

    archive = keras.export.ExportArchive()
    for item in tracked:
        archive.track(item)
    for name, (function, signature) in endpoints.items():
        archive.add_endpoint(name, function, input_signature=signature)
    archive.write_out(str(directory), verbose=False)


def model_endpoint(model, specs, output_names=None):
    """`(function, [TensorSpec])` calling `model` on inputs named as in
    `specs` and returning its outputs by name (`output_names`, default the
    model's own)."""
    names = list(specs)

    def serve(*arguments):
        return _specs.call_model(
            model, dict(zip(names, arguments, strict=True)), output_names
        )

    return serve, list(specs.values())


def _folder_size(path):
    return sum(
        file.stat().st_size
        for file in pathlib.Path(path).rglob("*")
        if file.is_file()
    )


def _text_to_outputs(model, preprocessor, specs, text):
    """The model's outputs for a string tensor, through the preprocessor."""
    import tensorflow as tf

    features = preprocessor(text)
    if isinstance(features, tuple):  # (x, y, sample_weight) packs
        features = features[0]
    inputs = {
        name: tf.cast(features[name], spec.dtype)
        for name, spec in specs.items()
    }
    return _specs.call_model(model, inputs)


def _text_endpoint(model, preprocessor, specs, batch_size):
    import tensorflow as tf

    def serve_text(text):
        return _text_to_outputs(model, preprocessor, specs, text)

    spec = tf.TensorSpec((batch_size,), tf.string, name="text")
    return serve_text, [spec]


def _signature_info(function):
    _, keywords = function.structured_input_signature
    inputs = {
        name: {
            "shape": [-1 if s is None else s for s in spec.shape],
            "dtype": spec.dtype.name,
        }
        for name, spec in keywords.items()
    }
    outputs = {
        name: {
            "shape": [-1 if s is None else s for s in spec.shape],
            "dtype": spec.dtype.name,
        }
        for name, spec in function.structured_outputs.items()
    }
    return inputs, outputs


def to_saved_model(
    model,
    path,
    preprocessor=None,
    batch_size=None,
    sequence_length=None,
    sample_data=None,
    sample_text=None,
    num_samples=4,
    check=True,
):
    """Writes `model` as a SavedModel with named serving signatures.

    Signatures: `serving_default` takes the model's inputs by name (for
    BERT: `token_ids`, `segment_ids`, `padding_mask`) and returns its
    outputs by name. With `preprocessor`, `serving_default` takes `text`
    (a string vector) and runs the preprocessor inside the graph; the id
    signature is then `serve_token_ids`.

    Args:
        model: a Keras model.
        path: the folder to write; replaced only once the new one is
            complete.
        preprocessor: None or a keras-hub preprocessor layer mapping a
            string tensor to the model's inputs (for example
            `load_bert_preprocessor(folder, sequence_length)`).
        batch_size, sequence_length: None (dynamic, the default) or ints.
        sample_data: inputs to compare the reloaded SavedModel with the
            Keras model on; None draws random valid ones.
        sample_text: strings to check the text signature on.
        check: bool. Reload with `tf.saved_model.load` and compare.

    Returns:
        An `ExportReport` with the differences of every signature's
        outputs from the Keras model's and the median latency of one call.

    Loading a text signature elsewhere needs `import tensorflow_text`
    first (keras-hub's tokenizers use its operators).

    Example:

    >>> import os, tempfile
    >>> import tensorflow as tf
    >>> from keras_attn import models
    >>> from keras_attn.export import to_saved_model
    >>> model = models.bert_backbone("bert_tiny", vocabulary_size=100)
    >>> folder = os.path.join(tempfile.mkdtemp(), "bert")
    >>> report = to_saved_model(model, folder)
    >>> report.max_abs_diff["sequence_output"] < 1e-5
    True
    >>> serve = tf.saved_model.load(folder).signatures["serving_default"]
    >>> sorted(serve.structured_input_signature[1])
    ['padding_mask', 'segment_ids', 'token_ids']
    """
    import tensorflow as tf

    specs = _specs.input_specs(model, batch_size, sequence_length)
    endpoints = {}
    if preprocessor is None:
        endpoints[TEXT_SIGNATURE] = model_endpoint(model, specs)
    else:
        if not preprocessor.built:  # ExportArchive tracks built layers only
            preprocessor(tf.constant(SAMPLE_TEXT))
        endpoints[TEXT_SIGNATURE] = _text_endpoint(
            model, preprocessor, specs, batch_size
        )
        endpoints[IDS_SIGNATURE] = model_endpoint(model, specs)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _files.remove_stale(path)
    scratch = _files.partial_name(path)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        tracked = [model] if preprocessor is None else [model, preprocessor]
        write_saved_model(scratch, endpoints, tracked)
        _files.replace_folder(scratch, path)
    finally:
        if os.path.exists(scratch):
            shutil.rmtree(scratch, ignore_errors=True)
    report = ExportReport(
        path=str(path), format="saved_model", size_bytes=_folder_size(path)
    )
    if not check:
        return report
    loaded = tf.saved_model.load(str(path))
    ids_key = IDS_SIGNATURE if preprocessor is not None else TEXT_SIGNATURE
    ids_signature = loaded.signatures[ids_key]
    report.inputs, report.outputs = _signature_info(ids_signature)
    if sample_data is not None:
        batches = _specs.collect(sample_data, specs, num_samples)
    else:
        batches = _specs.sample_inputs(model, specs, count=num_samples)
    absolute, relative = {}, {}
    for batch in batches:
        got = ids_signature(**{k: tf.constant(v) for k, v in batch.items()})
        expected = _specs.call_model(model, batch)
        accumulate(absolute, relative, expected, got)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        ids_signature(**{k: tf.constant(v) for k, v in batches[0].items()})
        times.append(time.perf_counter() - start)
    if preprocessor is not None:
        text = list(sample_text or SAMPLE_TEXT)
        text_signature = loaded.signatures[TEXT_SIGNATURE]
        got = text_signature(text=tf.constant(text))
        expected = _text_to_outputs(
            model, preprocessor, specs, tf.constant(text)
        )
        text_abs, text_rel = {}, {}
        accumulate(text_abs, text_rel, expected, got)
        for name in text_abs:
            absolute[f"text:{name}"] = text_abs[name]
            relative[f"text:{name}"] = text_rel[name]
    report.max_abs_diff, report.max_rel_diff = absolute, relative
    report.samples = len(batches)
    report.latency_ms = float(np.median(times) * 1000)
    return report


def load_saved_model(path):
    """`tf.saved_model.load` with errors that name the folder.

    Checks that `path` is a SavedModel folder (a `saved_model.pb`, and the
    `variables` index when there is a `variables` folder) and turns what
    TensorFlow raises for a damaged one (protobuf decode errors, a
    `DataLossError` from a variable shard's checksum) into
    `CorruptModelError`. Loading a SavedModel runs no Python code from it.

    Args:
        path: the folder written by `to_saved_model` (or any SavedModel).

    Returns:
        The loaded object; call `.signatures["serving_default"]`.

    Raises:
        FileNotFoundError: if there is no folder at `path`.
        CorruptModelError: if the folder is incomplete or damaged.

    Example:

    >>> import keras, os, tempfile
    >>> from keras_attn.export import to_saved_model, load_saved_model
    >>> inputs = keras.Input((4,), name="x")
    >>> model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    >>> folder = os.path.join(tempfile.mkdtemp(), "dense")
    >>> _ = to_saved_model(model, folder)
    >>> sorted(load_saved_model(folder).signatures)
    ['serving_default']
    >>> os.remove(os.path.join(folder, "saved_model.pb"))
    >>> try:
    ...     load_saved_model(folder)
    ... except ValueError as error:
    ...     print("no saved_model.pb" in str(error))
    True
    """
    import tensorflow as tf

    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"No SavedModel folder at {path}.")
    if not (path / "saved_model.pb").is_file():
        raise CorruptModelError(
            path, "no saved_model.pb: not a SavedModel folder."
        )
    variables = path / "variables"
    if variables.is_dir() and not (variables / "variables.index").is_file():
        raise CorruptModelError(
            path, "incomplete: variables/variables.index is missing."
        )
    try:
        return tf.saved_model.load(str(path))
    except Exception as error:  # protobuf, OSError, tf.errors.*
        first = str(error).strip().splitlines()[0] if str(error) else ""
        raise CorruptModelError(
            path,
            f"TensorFlow could not load it ({type(error).__name__}: "
            f"{first[:300]}).",
        ) from None
