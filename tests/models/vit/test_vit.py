"""The ViT classifier builder and its presets."""

import keras
import numpy as np
import pytest
from keras import ops
from layer_checks import randomize_model

from keras_attn import models


def test_vit_base_has_the_published_86m_parameters():
    # Dosovitskiy et al. (2021), table 1: ViT-Base, 86M parameters.
    model = models.vit_classifier(1000, "vit_base")
    count = model.count_params()
    assert abs(count - 86e6) / 86e6 < 0.01, count


@pytest.mark.parametrize(
    "preset, tokens", [("vit_digits", 17), ("vit_cifar", 65)]
)
def test_small_presets_build_and_give_logits(preset, tokens):
    config = models.vit_config(preset)
    size, channels = config["image_size"], config["channels"]
    model = models.vit_classifier(7, preset)
    assert tuple(
        model.get_layer("vit_backbone")
        .get_layer("patch_embedding")
        .output.shape
    ) == (
        None,
        tokens,
        config["hidden_dim"],
    )
    out = model(np.zeros((2, size, size, channels), "float32"))
    assert tuple(out.shape) == (2, 7)


def test_mean_pooling_has_no_class_token():
    model = models.vit_classifier(3, "vit_digits", pooling="mean")
    assert (
        model.get_layer("vit_backbone")
        .get_layer("patch_embedding")
        .output.shape[1]
        == 16
    )


def synthetic_images(n, seed):
    """Class 1 has a bright bar in the top-left patch; class 0 does not."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 0.3, (n, 8, 8, 1)).astype("float32")
    labels = rng.integers(0, 2, n)
    images[labels == 1, 0:2, 0:2, 0] = 1.0
    return images, labels


@pytest.mark.parametrize("pooling", ["class_token", "mean"])
def test_learns_and_round_trips(pooling, tmp_path):
    keras.utils.set_random_seed(0)
    model = models.vit_classifier(
        2, "vit_digits", num_layers=2, pooling=pooling
    )
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    x, y = synthetic_images(256, 0)
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    x_test, y_test = synthetic_images(128, 1)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.95

    path = tmp_path / "vit.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(restored(x_test)),
        ops.convert_to_numpy(model(x_test)),
    )


def test_bad_configurations_raise():
    with pytest.raises(ValueError, match="vit_huge.*vit_base"):
        models.vit_config("vit_huge")
    with pytest.raises(ValueError, match=r"\['depth'\]"):
        models.vit_config("vit_tiny", depth=3)
    with pytest.raises(ValueError, match="pooling.*received 'max'"):
        models.vit_config("vit_tiny", pooling="max")
    with pytest.raises(ValueError, match="needs.*num_heads"):
        models.vit_config(num_layers=2, hidden_dim=8)
    with pytest.raises(ValueError, match="num_classes.*received 0"):
        models.vit_classifier(0, "vit_digits")
    with pytest.raises(ValueError, match="patch_size"):
        models.vit_classifier(2, "vit_digits", patch_size=3)


@pytest.mark.parametrize("use_class_token", [True, False])
def test_from_keras_hub_gives_the_same_outputs(use_class_token):
    import keras_hub

    hub = keras_hub.models.ViTBackbone(
        image_shape=(8, 8, 3),
        patch_size=2,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
        use_class_token=use_class_token,
    )
    randomize_model(hub, seed=0, scale=0.3)
    ours = models.from_keras_hub(hub)
    rng = np.random.default_rng(1)
    images = rng.uniform(0.0, 1.0, (3, 8, 8, 3)).astype("float32")
    want = ops.convert_to_numpy(hub(images))
    got = ops.convert_to_numpy(ours(images))
    assert got.shape == want.shape == (3, 16 + use_class_token, 16)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert ours.count_params() == hub.count_params()
