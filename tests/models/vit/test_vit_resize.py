"""`vit_resize`: a ViT rebuilt at a new image size, positions interpolated."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import randomize_model
from layer_checks import to_np

from keras_attn import models
from keras_attn.models.vit import vit_resize

SMALL = {"num_layers": 2}


def images(size, n=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, (n, size, size, 1)).astype("float32")


def classifier(pooling="class_token", **overrides):
    model = models.vit_classifier(
        4, "vit_digits", pooling=pooling, **SMALL, **overrides
    )
    randomize_model(model, seed=0, scale=0.3)
    return model


def patch_embedding(model):
    return model.get_layer("vit_backbone").get_layer("patch_embedding")


def run_original_layers(model, pixels):
    """The ORIGINAL classifier's layers, one by one, on `pixels` of any
    size: its PatchEmbedding resizes the position table on the fly."""
    backbone = model.get_layer("vit_backbone")
    x = backbone.get_layer("patch_embedding")(pixels)
    for layer in backbone.layers[2:]:  # dropout, blocks, final norm
        x = layer(x)
    if backbone.get_layer("patch_embedding").use_class_token:
        pooled = x[:, 0]
    else:
        pooled = keras.ops.mean(x, axis=1)
    return to_np(model.get_layer("logits")(pooled))


def test_same_size_gives_identical_outputs_and_new_variables():
    model = classifier()
    resized = vit_resize(model, 8)
    assert resized is not model
    x = images(8)
    np.testing.assert_array_equal(to_np(resized(x)), to_np(model(x)))
    assert not {id(w) for w in resized.weights} & {id(w) for w in model.weights}


@pytest.mark.parametrize("pooling", ["class_token", "mean"])
@pytest.mark.parametrize("size", [12, 16])
def test_bigger_size_equals_on_the_fly_interpolation(pooling, size):
    model = classifier(pooling)
    before = to_np(model(images(8)))
    resized = vit_resize(model, size)
    assert tuple(resized.input.shape) == (None, size, size, 1)
    x = images(size)
    got = to_np(resized(x))
    want = run_original_layers(model, x)
    assert got.shape == want.shape == (3, 4)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    # The original model is left as it was.
    np.testing.assert_array_equal(to_np(model(images(8))), before)
    # And the table matters: the old table's first rows would differ.
    assert np.max(np.abs(got - to_np(model(x[:, :8, :8])))) > 1e-3


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="keras.ops.image.resize's bicubic kernel differs by backend; "
    "this compares with TensorFlow's",
)
def test_table_is_the_bicubic_resize_and_the_rest_is_copied():
    model = classifier()
    resized = vit_resize(model, 12)
    old = patch_embedding(model).position_embeddings.numpy()  # (1 + 16, D)
    new = patch_embedding(resized).position_embeddings.numpy()
    hidden = old.shape[-1]
    grid = old[1:].reshape(1, 4, 4, hidden)
    # An independent computation: TensorFlow's bicubic resize, half-pixel
    # centres, no antialiasing; the class token's row kept.
    want = tf.image.resize(grid, (6, 6), method="bicubic").numpy()
    want = np.concatenate([old[:1], want.reshape(36, hidden)])
    assert new.shape == (37, hidden)
    np.testing.assert_allclose(new, want, atol=1e-6, rtol=0)
    # Every other weight is copied as it was, shape and value.
    table_path = patch_embedding(model).position_embeddings.path
    for a, b in zip(model.weights, resized.weights, strict=True):
        assert a.path == b.path
        if a.path != table_path:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    extra = (37 - 17) * hidden
    assert resized.count_params() == model.count_params() + extra


def test_backbone_resizes_and_keeps_its_config():
    backbone = models.vit_backbone("vit_digits", num_layers=1, dropout=0.1)
    randomize_model(backbone, seed=0, scale=0.3)
    resized = vit_resize(backbone, 16, name="vit_16")
    assert resized.name == "vit_16"
    assert backbone.name == "vit_backbone"
    assert tuple(resized.output.shape) == (None, 1 + 64, 64)
    old_config = backbone.get_layer("transformer_layer_0").get_config()
    new_config = resized.get_layer("transformer_layer_0").get_config()
    assert new_config == old_config
    x = images(16)
    old = backbone.get_layer("patch_embedding")(x)
    for layer in backbone.layers[2:]:
        old = layer(old)
    np.testing.assert_allclose(to_np(resized(x)), to_np(old), atol=1e-5)


def test_dtype_policy_is_kept():
    keras.config.set_dtype_policy("mixed_float16")
    model = models.vit_classifier(3, "vit_digits", num_layers=1)
    keras.config.set_dtype_policy("float32")
    resized = vit_resize(model, 12)
    assert resized.get_layer("logits").dtype_policy.name == "mixed_float16"
    table = patch_embedding(resized).position_embeddings
    assert keras.backend.standardize_dtype(table.dtype) == "float32"
    assert keras.backend.standardize_dtype(resized(images(12)).dtype) == (
        "float16"
    )


def test_resized_model_trains_and_round_trips(tmp_path):
    resized = vit_resize(classifier(), 12)
    resized.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    table = patch_embedding(resized).position_embeddings
    before = table.numpy().copy()
    history = resized.fit(
        images(12, n=8), np.arange(8) % 4, epochs=1, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    assert np.any(table.numpy() != before)

    path = tmp_path / "vit_12.keras"
    resized.save(path)
    restored = keras.saving.load_model(path)
    x = images(12)
    np.testing.assert_array_equal(to_np(restored(x)), to_np(resized(x)))
    # A reloaded model resizes too.
    smaller = vit_resize(restored, 4)
    assert tuple(patch_embedding(smaller).position_embeddings.shape) == (5, 64)
    assert tuple(smaller(images(4)).shape) == (3, 4)


def test_bad_arguments_raise():
    model = models.vit_classifier(3, "vit_digits", num_layers=1)
    for size in (13, 0, -4, 12.0, True, "12"):
        with pytest.raises(
            ValueError, match=rf"image_size={size!r} with patch_size=2"
        ):
            vit_resize(model, size)
    bert = models.bert_backbone("bert_tiny", vocabulary_size=20, num_layers=1)
    with pytest.raises(ValueError, match="one PatchEmbedding.*with 0"):
        vit_resize(bert, 12)
    with pytest.raises(TypeError, match="keras.Model.*received Dense"):
        vit_resize(keras.layers.Dense(2), 12)
