"""The shared behaviour check every layer passes (DESIGN.md).

`run_layer_test` builds a layer from its constructor arguments and checks:
config round trip through JSON, build alone with exact weight counts,
symbolic == eager == `compute_output_shape` shapes, one `fit` step that
moves every trainable weight, and the output dtype (and finiteness) under
`mixed_float16` and `mixed_bfloat16`. Below it, the few helpers the layer
tests share (random arrays and weights, differences, Keras activations).
"""

import json

import keras
import numpy as np


def random_inputs(specs, seed=0):
    """NumPy inputs for `specs`: name -> (shape, dtype[, high])."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, spec in specs.items():
        shape, dtype = spec[0], spec[1]
        if dtype.startswith("int"):
            arrays[name] = rng.integers(0, spec[2], shape).astype(dtype)
        elif dtype == "bool":
            arrays[name] = np.ones(shape, bool)
        else:
            arrays[name] = rng.standard_normal(shape).astype(dtype)
    return arrays


def _first(outputs):
    return outputs[0] if isinstance(outputs, (tuple, list)) else outputs


def _shapes(outputs):
    if isinstance(outputs, (tuple, list)):
        return [tuple(o.shape) for o in outputs]
    return tuple(outputs.shape)


def _with_batch(shape, batch):
    return (batch,) + tuple(shape[1:])


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_specs,
    expected_output_shape,
    expected_num_trainable_weights,
    expected_num_non_trainable_weights=0,
    call_kwargs=None,
    build_kwargs=None,
    check_fit=True,
    check_mixed_precision=True,
):
    """Runs the shared checks.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_specs: ordered dict name -> (shape, dtype[, int high]); the
            names are the call's positional tensor arguments, in order.
        expected_output_shape: shape of the (first) output for the batch
            given in `input_specs`.
        expected_num_trainable_weights: exact count after `build`.
        expected_num_non_trainable_weights: exact count after `build`.
        call_kwargs: extra keyword arguments for the call.
        build_kwargs: the shapes passed to `build` (defaults to the input
            shapes, positionally).
    """
    call_kwargs = call_kwargs or {}
    arrays = random_inputs(input_specs)
    names = list(input_specs)
    batch = input_specs[names[0]][0][0]

    # 1. Config round trip through JSON.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    restored = layer_cls.from_config(json.loads(json.dumps(config)))
    assert json.dumps(restored.get_config(), sort_keys=True) == json.dumps(
        config, sort_keys=True
    )
    serialized = keras.saving.serialize_keras_object(layer)
    revived = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(serialized))
    )
    assert type(revived) is layer_cls
    for key, value in init_kwargs.items():
        assert key in config, f"get_config() lacks constructor arg {key!r}"
        serialized_object = isinstance(config[key], dict)
        if not serialized_object and isinstance(
            value, (int, float, str, bool, type(None))
        ):
            assert config[key] == value, (key, config[key], value)

    # 2. Build alone, exact weight counts.
    layer = layer_cls(**init_kwargs)
    shapes = [arrays[n].shape for n in names]
    if build_kwargs is not None:
        layer.build(**build_kwargs)
    else:
        layer.build(*shapes)
    assert layer.built
    assert len(layer.trainable_weights) == expected_num_trainable_weights, [
        w.path for w in layer.trainable_weights
    ]
    assert (
        len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    )
    names_seen = [w.path for w in layer.weights]
    assert len(set(names_seen)) == len(names_seen), names_seen

    # 3. Symbolic, eager and compute_output_shape agree.
    layer = layer_cls(**init_kwargs)
    symbolic_inputs = [
        keras.Input(
            shape=input_specs[n][0][1:], dtype=input_specs[n][1], name=n
        )
        for n in names
    ]
    symbolic = layer(*symbolic_inputs, **call_kwargs)
    eager = layer(*[arrays[n] for n in names], **call_kwargs)
    assert tuple(_first(eager).shape) == tuple(expected_output_shape)
    symbolic_shape = _shapes(symbolic)
    eager_shape = _shapes(eager)
    if isinstance(eager_shape, list):
        assert [_with_batch(s, batch) for s in symbolic_shape] == eager_shape
    else:
        assert _with_batch(symbolic_shape, batch) == eager_shape
        computed = layer.compute_output_shape(*shapes)
        assert tuple(computed) == eager_shape, (computed, eager_shape)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(_first(eager))))

    # 4. One fit step moves every trainable weight.
    if check_fit:
        model = keras.Model(symbolic_inputs, _first(symbolic))
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        before = [np.array(w) for w in layer.trainable_weights]
        target = np.random.default_rng(1).standard_normal(expected_output_shape)
        history = model.fit(
            [arrays[n] for n in names],
            target.astype("float32"),
            batch_size=batch,
            epochs=1,
            verbose=0,
        )
        assert np.isfinite(history.history["loss"][0])
        after = [np.array(w) for w in layer.trainable_weights]
        unchanged = [
            w.path
            for w, b, a in zip(
                layer.trainable_weights, before, after, strict=True
            )
            if np.array_equal(b, a)
        ]
        assert not unchanged, f"fit did not move: {unchanged}"

    # 5. Mixed precision: output in the compute dtype, finite.
    if check_mixed_precision:
        for policy, compute in (
            ("mixed_float16", "float16"),
            ("mixed_bfloat16", "bfloat16"),
        ):
            mixed = layer_cls(**init_kwargs, dtype=policy)
            outputs = mixed(*[arrays[n] for n in names], **call_kwargs)
            for output in (
                outputs if isinstance(outputs, (tuple, list)) else [outputs]
            ):
                if "float" in str(output.dtype):
                    assert keras.backend.standardize_dtype(output.dtype) in (
                        compute,
                        "float32",
                    ), (policy, output.dtype)
            first = _first(outputs)
            assert keras.backend.standardize_dtype(first.dtype) == compute
            values = keras.ops.convert_to_numpy(
                keras.ops.cast(first, "float32")
            )
            assert np.all(np.isfinite(values)), policy
            for w in mixed.weights:
                assert keras.backend.standardize_dtype(w.dtype) == "float32"


# --- small helpers shared by the layer tests ---------------------------------

# Keras's own activations under our names, so that a reference layer never
# goes through our activation lookup.
KERAS_ACTIVATIONS = {
    "relu": "relu",
    "gelu": "gelu",
    "gelu_approximate": lambda x: keras.activations.gelu(x, approximate=True),
}


def to_np(x):
    return keras.ops.convert_to_numpy(x)


def random_array(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype("float32")


def random_weights(rng, layer, scale=0.5):
    """Non-trivial weights: random kernels, biases and layer-norm params."""
    return [random_array(rng, w.shape, scale) for w in layer.weights]


def randomize_model(model, seed=1, scale=0.2):
    """Random normal weights everywhere, layer-norm scales around 1, so a
    weight that fails to load, copy or tie shows in the outputs."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [
            rng.normal(0.0, scale, w.shape).astype("float32")
            + (1.0 if w.path.endswith("gamma") else 0.0)
            for w in model.weights
        ]
    )


def max_diff(a, b):
    return float(np.max(np.abs(to_np(a) - to_np(b))))


def decode_step_by_step(layer, target, source, heads, head_dim, **kwargs):
    """Runs a `TransformerDecoder` one target position at a time through
    its self-attention cache; returns (the steps' outputs joined along
    the sequence, the filled cache). `kwargs` go to every call."""
    batch, length = target.shape[:2]
    cache = keras.ops.zeros((batch, 2, length, heads, head_dim))
    steps = []
    for i in range(length):
        out, cache = layer(
            target[:, i : i + 1],
            source,
            self_attention_cache=cache,
            self_attention_cache_update_index=i,
            **kwargs,
        )
        steps.append(to_np(out))
    return np.concatenate(steps, axis=1), cache
