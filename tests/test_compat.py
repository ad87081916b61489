"""Every entry of `keras_attn._compat` still works on the installed Keras
and TensorFlow.

Each test calls one entry the way keras_attn does and fails with the
entry's name, so an upgrade that moves a private API shows at once which
entry to mend (the module doc says where each comes from).
"""

import keras
import numpy as np
import pytest

from keras_attn import _compat


def _functional():
    inputs = keras.Input((3,), name="x")
    hidden = keras.layers.Dense(4, name="hidden")(inputs)
    outputs = keras.layers.Dropout(0.5, name="drop")(hidden)
    return keras.Model(inputs, outputs)


def test_keras_mask_accessors_round_trip():
    x = keras.ops.ones((2, 3))
    mask = keras.ops.convert_to_tensor(np.array([[1, 1, 0]] * 2, bool))
    _compat.set_keras_mask(x, mask)
    assert _compat.get_keras_mask(x) is mask, "get/set_keras_mask"
    embedded = keras.layers.Embedding(5, 2, mask_zero=True)(np.array([[1, 0]]))
    got = _compat.get_keras_mask(embedded)
    assert got is not None, "get_keras_mask: Keras no longer carries masks"
    np.testing.assert_array_equal(np.asarray(got), [[True, False]])


def test_functional_graph_rerun_calls_operation_fn_per_node():
    model = _functional()
    assert _compat.is_functional(model), "is_functional"
    assert not _compat.is_functional(keras.layers.Dense(1)), "is_functional"
    seen = []

    def operation_fn(layer):
        seen.append(layer.name)
        return layer

    x = np.ones((1, 3), "float32")
    out = _compat.run_through_graph(model, [x], operation_fn)
    assert seen == ["hidden", "drop"], "run_through_graph: nodes visited"
    np.testing.assert_allclose(np.asarray(out), np.asarray(model(x)))


def test_functional_graph_rerun_substitutes_a_layer():
    model = _functional()

    def operation_fn(layer):
        if layer.name == "hidden":
            return lambda *args, **kwargs: layer(*args, **kwargs) * 0.0
        return layer

    out = _compat.run_through_graph(model, [np.ones((1, 3))], operation_fn)
    np.testing.assert_array_equal(np.asarray(out), np.zeros((1, 4)))


class _Plain(keras.layers.Layer):
    def call(self, inputs):
        return inputs


def test_call_has_training_arg():
    assert _compat.call_has_training_arg(keras.layers.Dropout(0.1))
    assert not _compat.call_has_training_arg(_Plain()), "call_has_training_arg"


def test_flatten_layers_finds_nested_layers():
    inner = _functional()
    inputs = keras.Input((3,))
    outer = keras.Model(
        inputs, keras.layers.Dense(1, name="head")(inner(inputs))
    )
    names = {layer.name for layer in _compat.flatten_layers(outer)}
    assert {"hidden", "drop", "head"} <= names, "flatten_layers"


def test_calibrate_then_quantize_gives_an_int8_model(tmp_path):
    tf = pytest.importorskip("tensorflow")

    @tf.function(input_signature=[tf.TensorSpec((1, 4), tf.float32)])
    def double(x):
        return {"y": tf.nn.relu(tf.matmul(x, tf.ones((4, 2))))}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [double.get_concrete_function()], double
    )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: (
        [np.random.default_rng(i).random((1, 4), "float32")] for i in range(4)
    )
    _compat.calibrate_only(converter)
    calibrated = converter.convert()
    quantized = _compat.mlir_quantize(calibrated)
    schema = _compat.tflite_schema()
    model = schema.Model.GetRootAs(quantized, 0)
    graph = model.Subgraphs(0)
    types = {graph.Tensors(i).Type() for i in range(graph.TensorsLength())}
    assert schema.TensorType.INT8 in types, "mlir_quantize: no int8 tensor"


def test_getitem_operation_is_the_class_of_indexing_nodes():
    inputs = keras.Input((3, 4))
    model = keras.Model(inputs, inputs[:, 0])
    kinds = {type(layer) for layer in model.operations}
    assert _compat.getitem_operation() in kinds, "getitem_operation"


# --- entries of the layout half of issue 18 (training) --------------------


def _tiny_regression():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model, np.ones((8, 2), "float32"), np.ones((8,), "float32")


def test_build_from_first_replica_is_what_fit_builds_with():
    tf = pytest.importorskip("tensorflow")
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model, x, y = _tiny_regression()
    assert callable(getattr(type(model), "_maybe_symbolic_build", None)), (
        "build_from_first_replica: Keras's trainer has no "
        "Model._maybe_symbolic_build any more"
    )
    calls = []
    with _compat.build_from_first_replica(model):
        replacement = model._maybe_symbolic_build

        def spy(*args, **kwargs):
            calls.append(kwargs)
            return replacement(*args, **kwargs)

        model._maybe_symbolic_build = spy
        model.fit(x, y, epochs=1, verbose=0)
    assert calls and "iterator" in calls[0], (
        "build_from_first_replica: fit no longer calls "
        "_maybe_symbolic_build(iterator=...) before its first step"
    )
    assert "_maybe_symbolic_build" not in vars(model), (
        "build_from_first_replica: the instance attribute was left behind"
    )
    assert model.built


def test_mean_logs_over_workers_is_what_fit_reduces_with_and_restores():
    tf = pytest.importorskip("tensorflow")
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    seen = []
    with _compat.mean_logs_over_workers():
        ours = trainer.reduce_per_replica
        assert ours is not original, "mean_logs_over_workers: not patched"

        def spy(values, strategy, reduction):
            seen.append(reduction)
            return ours(values, strategy, reduction)

        trainer.reduce_per_replica = spy
        try:
            strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
            with strategy.scope():
                model, x, y = _tiny_regression()
            model.fit(x, y, epochs=1, verbose=0)
        finally:
            trainer.reduce_per_replica = ours
    assert trainer.reduce_per_replica is original, (
        "mean_logs_over_workers: Keras's reduce_per_replica not restored"
    )
    assert "auto" in seen, (
        "mean_logs_over_workers: fit under a strategy no longer reduces "
        "its logs through trainer.reduce_per_replica(..., 'auto')"
    )
    # Other strategies go to Keras's own function, unchanged.
    with _compat.mean_logs_over_workers():
        value = trainer.reduce_per_replica(
            tf.constant(2.0), tf.distribute.get_strategy(), "auto"
        )
    assert float(value) == 2.0


class _Recording(_compat.BackupAndRestoreHooks):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.saved, self.loaded = [], 0

    def save_backup(self):
        self.saved.append((self.backup_epoch, self.backup_batch))
        super().save_backup()

    def load_backup(self):
        self.loaded += 1
        super().load_backup()


def test_backup_and_restore_hooks_are_the_ones_keras_calls(tmp_path):
    model, x, y = _tiny_regression()
    backup = _Recording(tmp_path / "backup", delete_checkpoint=False)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[backup])
    assert backup.loaded == 1, (
        "BackupAndRestoreHooks: Keras no longer calls _load_model at the "
        "start of training"
    )
    assert [epoch for epoch, _ in backup.saved] == [1, 2], (
        "BackupAndRestoreHooks: Keras no longer calls _save_model after "
        f"each epoch with _current_epoch counted from 1: {backup.saved}"
    )
    metadata = tmp_path / "backup" / _compat.BACKUP_METADATA
    assert metadata.is_file(), (
        f"BackupAndRestoreHooks: no {_compat.BACKUP_METADATA} in the backup"
    )
    # Keras reads the weights where `weights_path` points.
    other, _, _ = _tiny_regression()
    other.layers[0].kernel.assign(np.full((2, 1), 7.0, "float32"))
    path = tmp_path / "elsewhere.weights.h5"
    other.save_weights(path)
    fresh = _Recording(tmp_path / "backup")
    fresh.set_model(model)
    fresh.weights_path = path
    assert fresh.weights_path == str(path)
    fresh.load_backup()
    np.testing.assert_array_equal(
        np.asarray(model.layers[0].kernel),
        np.full((2, 1), 7.0),
        err_msg="BackupAndRestoreHooks: Keras's _load_model no longer "
        "reads the weights at _weights_path",
    )
