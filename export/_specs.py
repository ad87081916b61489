"""Input signatures, sample inputs and calibration data for the exporters.

A model's inputs become `tf.TensorSpec`s named as the model names them
(the keys of a dict input, else the `keras.Input` names), with the batch
and sequence dimensions fixed or left dynamic as the caller asks.

Inputs counted in words, not pieces (`WORD_INPUTS`: a tagger's
`word_starts`), are shorter than the sequence: a row of `T` pieces holds
at most `T - 2` words between `[CLS]` and `[SEP]`.
"""

import keras
import numpy as np

from keras_attn import _compat
from keras_attn.models.tagger.heads import WORD_STARTS

# Inputs with one entry per word: {name: pieces per row they leave out}
# (a tagger's first-piece positions; `[CLS]` and `[SEP]` hold no word).
WORD_INPUTS = {WORD_STARTS: 2}


def input_names(model):
    """The names of the model's inputs, in the order of `model.inputs`."""
    structure = model.input
    if isinstance(structure, dict):
        return list(structure)
    if not isinstance(structure, (list, tuple)):
        structure = [structure]
    return [tensor.name for tensor in structure]


def output_names(model):
    """Signature output names: the dict keys, else the output layers."""
    structure = model.output
    if isinstance(structure, dict):
        return list(structure)
    return list(model.output_names)


def input_specs(model, batch_size=None, sequence_length=None):
    """`{name: tf.TensorSpec}` for the model's inputs.

    Dimension 0 becomes `batch_size`; any other unknown dimension becomes
    `sequence_length` (None keeps it dynamic), less `WORD_INPUTS[name]`
    for an input counted in words.
    """
    import tensorflow as tf

    structure = model.input
    tensors = (
        list(structure.values())
        if isinstance(structure, dict)
        else list(structure)
        if isinstance(structure, (list, tuple))
        else [structure]
    )
    specs = {}
    for name, tensor in zip(input_names(model), tensors, strict=True):
        length = sequence_length
        if length is not None and name in WORD_INPUTS:
            length = max(length - WORD_INPUTS[name], 1)
        shape = [batch_size] + [
            length if size is None else size for size in tensor.shape[1:]
        ]
        specs[name] = tf.TensorSpec(shape, tensor.dtype, name=name)
    return specs


def model_arguments(model, inputs):
    """`{name: tensor}` in the structure `model` is called with."""
    structure = model.input
    if isinstance(structure, dict):
        return inputs
    if isinstance(structure, (list, tuple)):
        return [inputs[name] for name in input_names(model)]
    return inputs[input_names(model)[0]]


def call_model(model, inputs, names=None):
    """Calls `model` on `{name: tensor}` and returns `{output name: tensor}`
    (outputs that are not a dict are named `names`, default the model's
    own output names)."""
    outputs = model(model_arguments(model, inputs), training=False)
    if isinstance(outputs, dict):
        return dict(outputs)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    names = names or output_names(model)
    return dict(zip(names, outputs, strict=True))


def network_layers(model):
    """Every layer inside `model`, nested ones included, except those of
    a task's `preprocessor` (keras-hub's tasks track it as a sublayer, and
    its `sequence_length` is no position table), nested tasks' too."""
    layers = _compat.flatten_layers(model)
    skipped = set()
    for owner in [model, *layers]:
        preprocessor = getattr(owner, "preprocessor", None)
        if isinstance(preprocessor, keras.layers.Layer):
            skipped.add(id(preprocessor))
            skipped.update(
                id(layer) for layer in _compat.flatten_layers(preprocessor)
            )
    return [layer for layer in layers if id(layer) not in skipped]


def _sizes(model):
    """(token vocabulary size, number of segments) found in the model."""
    vocabulary, segments = None, None
    for layer in network_layers(model):
        if vocabulary is None:
            size = getattr(layer, "vocabulary_size", None)
            if isinstance(size, int):
                vocabulary = size
            elif "token" in layer.name and hasattr(layer, "input_dim"):
                vocabulary = layer.input_dim
        if segments is None and isinstance(
            getattr(layer, "num_segments", None), int
        ):
            segments = layer.num_segments
    return vocabulary, segments


def _position_limit(model):
    """The fewest positions of any learned position table in the model."""
    limits = [
        layer.sequence_length
        for layer in network_layers(model)
        if isinstance(getattr(layer, "sequence_length", None), int)
    ]
    return min(limits, default=None)


def _word_starts(rng, lengths, shape):
    """First-piece positions of random words in rows of `lengths` pieces
    (`[CLS]` at 0 and `[SEP]` last hold none): rising, from 1, 0 after
    the last word, as a tagger's inputs are."""
    starts = np.zeros(shape, "int64")
    for row, length in enumerate(lengths):
        room = min(int(length) - 2, shape[1])
        if room < 1:
            continue
        words = int(rng.integers(1, room + 1))
        rest = rng.choice(np.arange(2, length - 1), words - 1, replace=False)
        starts[row, :words] = np.sort(np.r_[1, rest])
    return starts


def sample_inputs(model, specs, count=4, seed=0, default_length=16):
    """`count` valid random input batches for `specs`, as NumPy dicts.

    Token ids are drawn from the model's vocabulary (ids 1 and up; 0 is
    padding), segment ids from its segment table, padding masks keep at
    least one real token and pad the rest of the row's tail, word inputs
    (`WORD_INPUTS`) hold rising first-piece positions inside the row's
    real tokens, and float inputs are uniform in [0, 1) like scaled
    pixels. An unknown length is `default_length`, or the model's
    shortest position table if shorter.
    """
    rng = np.random.default_rng(seed)
    limit = _position_limit(model)
    if limit is not None:
        default_length = min(default_length, limit)
    vocabulary, segments = _sizes(model)
    vocabulary = vocabulary or 100
    batches = []
    for _ in range(count):
        batch = {}
        shapes = {
            name: [
                (2 if i == 0 else default_length - WORD_INPUTS.get(name, 0))
                if size is None
                else size
                for i, size in enumerate(spec.shape)
            ]
            for name, spec in specs.items()
        }
        lengths = None
        pieces = [  # the rows' length in pieces, not in words
            shapes[name]
            for name, spec in specs.items()
            if len(shapes[name]) == 2
            and name not in WORD_INPUTS
            and not np.issubdtype(spec.dtype.as_numpy_dtype, np.floating)
        ]
        if pieces and WORD_INPUTS.keys() & specs.keys():
            lengths = rng.integers(1, pieces[0][1] + 1, size=pieces[0][0])
        for name, spec in specs.items():
            shape = shapes[name]
            dtype = spec.dtype.as_numpy_dtype
            if np.issubdtype(dtype, np.floating):
                batch[name] = rng.random(shape).astype(dtype)
                continue
            if lengths is None and len(shape) == 2:
                lengths = rng.integers(1, shape[1] + 1, size=shape[0])
            real = (
                np.arange(shape[1])[None, :] < lengths[:, None]
                if len(shape) == 2
                else np.ones(shape, bool)
            )
            if name in WORD_INPUTS and len(shape) == 2:
                values = _word_starts(rng, lengths, shape)
            elif "mask" in name:
                values = real
            elif "segment" in name:
                values = rng.integers(0, segments or 1, size=shape) * real
            else:
                values = rng.integers(1, vocabulary, size=shape) * real
            batch[name] = values.astype(dtype)
        batches.append(batch)
    return batches


def _as_dicts(data, names):
    """Yields `{name: array}` batches from arrays, dicts or a tf.data set."""
    try:
        import tensorflow as tf

        is_dataset = isinstance(data, tf.data.Dataset)
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        is_dataset = False
    if is_dataset:
        iterator = data.as_numpy_iterator()
    elif isinstance(data, (list, tuple)) and data and isinstance(data[0], dict):
        iterator = iter(data)
    else:
        iterator = iter([data])
    for element in iterator:
        if isinstance(element, tuple) and not isinstance(element, dict):
            element = element[0]  # (inputs, labels[, weights])
        if not isinstance(element, dict):
            if len(names) != 1:
                raise ValueError(
                    f"The model takes inputs {names}; calibration data must "
                    "be dicts with those keys, received "
                    f"{type(element).__name__}."
                )
            element = {names[0]: element}
        missing = [name for name in names if name not in element]
        if missing:
            raise ValueError(
                f"Calibration data lacks inputs {missing}; expected keys "
                f"{names}, received {sorted(element)}."
            )
        yield {name: np.asarray(element[name]) for name in names}


def fit_to_specs(batch, specs):
    """Pads (with 0) or cuts dimensions that `specs` fix, row by row.

    Returns a list of batches whose leading dimension matches the spec's
    batch size (rows are split when it is fixed).
    """
    rows = len(next(iter(batch.values())))
    fixed_batch = next(iter(specs.values())).shape[0]
    step = fixed_batch or rows
    out = []
    for start in range(0, rows - step + 1, step):
        piece = {}
        for name, spec in specs.items():
            value = batch[name][start : start + step]
            for axis, size in enumerate(spec.shape):
                if axis == 0 or size is None:
                    continue
                have = value.shape[axis]
                if have > size:
                    value = np.take(value, np.arange(size), axis=axis)
                elif have < size:
                    pad = [(0, 0)] * value.ndim
                    pad[axis] = (0, size - have)
                    value = np.pad(value, pad)
            piece[name] = value.astype(spec.dtype.as_numpy_dtype)
        out.append(piece)
    return out


def collect(data, specs, limit):
    """Up to `limit` batches of `data` fitted to `specs`."""
    names = list(specs)
    batches = []
    for element in _as_dicts(data, names):
        batches.extend(fit_to_specs(element, specs))
        if len(batches) >= limit:
            break
    if not batches:
        raise ValueError("The calibration or sample data is empty.")
    return batches[:limit]
