import numpy as np
import pytest
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import PatchEmbedding


def test_layer_behaviour():
    run_layer_test(
        PatchEmbedding,
        {"image_size": 8, "patch_size": 4, "hidden_dim": 6},
        {"images": ((2, 8, 8, 3), "float32")},
        expected_output_shape=(2, 5, 6),
        # conv kernel and bias, class token, position table
        expected_num_trainable_weights=4,
    )


def test_layer_behaviour_rectangular_without_class_token():
    run_layer_test(
        PatchEmbedding,
        {
            "image_size": [6, 8],
            "patch_size": 2,
            "hidden_dim": 4,
            "use_class_token": False,
        },
        {"images": ((2, 6, 8, 1), "float32")},
        expected_output_shape=(2, 12, 4),
        expected_num_trainable_weights=3,
    )


def test_matches_numpy_patchify_and_project():
    layer = PatchEmbedding(image_size=4, patch_size=2, hidden_dim=5)
    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 4, 4, 3)).astype("float32")
    out = ops.convert_to_numpy(layer(images))
    kernel, bias = layer.projection.get_weights()  # (2, 2, 3, 5), (5,)
    token = ops.convert_to_numpy(layer.class_token)
    table = ops.convert_to_numpy(layer.position_embeddings)
    patches = []
    for r in range(2):
        for c in range(2):
            patch = images[:, 2 * r : 2 * r + 2, 2 * c : 2 * c + 2, :]
            patches.append(np.einsum("bhwc,hwco->bo", patch, kernel) + bias)
    want = np.concatenate(
        [np.broadcast_to(token, (2, 1, 5)), np.stack(patches, axis=1)], axis=1
    )
    want = want + table[None]
    assert np.abs(out - want).max() <= 1e-5


def test_interpolates_positions_for_a_new_image_size():
    layer = PatchEmbedding(image_size=4, patch_size=2, hidden_dim=3)
    layer.build((None, 4, 4, 1))
    # A position grid that is linear in row and column: bilinear resizing
    # keeps an affine function affine, so the expected grid is exact.
    rows, cols = np.meshgrid(np.arange(2.0), np.arange(2.0), indexing="ij")
    grid = np.stack([rows, cols, rows + cols], axis=-1).reshape(4, 3)
    layer.position_embeddings.assign(
        np.concatenate([[[9.0, 9.0, 9.0]], grid]).astype("float32")
    )
    layer.class_token.assign(np.zeros(3, "float32"))
    layer.projection.set_weights(
        [np.zeros((2, 2, 1, 3), "float32"), np.zeros(3, "float32")]
    )
    bilinear = PatchEmbedding(
        image_size=4, patch_size=2, hidden_dim=3, interpolation="bilinear"
    )
    bilinear.build((None, 4, 4, 1))
    bilinear.set_weights(layer.get_weights())
    out = ops.convert_to_numpy(bilinear(np.zeros((1, 8, 8, 1), "float32")))
    assert out.shape == (1, 17, 3)
    np.testing.assert_array_equal(out[0, 0], [9.0, 9.0, 9.0])
    resized = out[0, 1:].reshape(4, 4, 3)
    # Half-pixel centres: output i samples input (i + 0.5) / 2 - 0.5,
    # clamped to the edge.
    coords = np.clip((np.arange(4) + 0.5) / 2 - 0.5, 0, 1)
    want_rows = np.broadcast_to(coords[:, None], (4, 4))
    np.testing.assert_allclose(resized[..., 0], want_rows, atol=1e-6)
    np.testing.assert_allclose(resized[..., 1], want_rows.T, atol=1e-6)
    # The same size needs no interpolation: the table is used as is.
    same = ops.convert_to_numpy(layer(np.zeros((1, 4, 4, 1), "float32")))
    np.testing.assert_array_equal(
        same[0], ops.convert_to_numpy(layer.position_embeddings)
    )
    # Bicubic keeps the class position and gives the new length too.
    bicubic = ops.convert_to_numpy(layer(np.zeros((2, 6, 6, 1), "float32")))
    assert bicubic.shape == (2, 10, 3)
    np.testing.assert_array_equal(bicubic[:, 0], [[9.0] * 3] * 2)


def test_bad_input():
    with pytest.raises(ValueError, match="multiple of the patch"):
        PatchEmbedding(image_size=10, patch_size=4, hidden_dim=2)
    with pytest.raises(ValueError, match="interpolation"):
        PatchEmbedding(8, 4, 2, interpolation="nearest")
    layer = PatchEmbedding(image_size=8, patch_size=4, hidden_dim=2)
    with pytest.raises(ValueError, match=r"rank 4.*\(2, 8, 8\)"):
        layer(np.zeros((2, 8, 8), "float32"))
    with pytest.raises(ValueError, match=r"\(1, 10, 8, 3\)"):
        layer(np.zeros((1, 10, 8, 3), "float32"))
