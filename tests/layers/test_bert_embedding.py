import keras
import numpy as np
import pytest
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import BertEmbedding


def test_layer_behaviour():
    run_layer_test(
        BertEmbedding,
        {"vocabulary_size": 20, "hidden_dim": 8, "max_sequence_length": 12},
        {
            "token_ids": ((2, 6), "int32", 20),
            "segment_ids": ((2, 6), "int32", 2),
        },
        expected_output_shape=(2, 6, 8),
        # token, segment, position tables; layer-norm gamma and beta
        expected_num_trainable_weights=5,
    )


def test_without_segments():
    run_layer_test(
        BertEmbedding,
        {"vocabulary_size": 20, "hidden_dim": 8, "num_segments": 0},
        {"token_ids": ((2, 6), "int32", 20)},
        expected_output_shape=(2, 6, 8),
        expected_num_trainable_weights=4,
    )


def test_matches_numpy_sum_and_layer_norm():
    layer = BertEmbedding(vocabulary_size=30, hidden_dim=6)
    ids = np.array([[2, 5, 7, 3], [2, 9, 3, 0]])
    segments = np.array([[0, 0, 1, 1], [0, 1, 1, 1]])
    layer(ids, segment_ids=segments)
    rng = np.random.default_rng(3)
    layer.layer_norm.set_weights(
        [rng.standard_normal(6), rng.standard_normal(6)]
    )
    out = ops.convert_to_numpy(layer(ids, segment_ids=segments))
    token = ops.convert_to_numpy(layer.embeddings)
    segment = ops.convert_to_numpy(layer.segment_embedding.embeddings)
    position = ops.convert_to_numpy(layer.position_embedding.embeddings)
    x = token[ids] + segment[segments] + position[None, :4]
    x = x.astype("float64")
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    gamma, beta = layer.layer_norm.get_weights()
    want = (x - mean) / np.sqrt(var + 1e-12) * gamma + beta
    assert np.abs(out - want).max() <= 1e-5


def test_segment_ids_default_to_zero():
    layer = BertEmbedding(vocabulary_size=10, hidden_dim=4)
    ids = np.array([[1, 2, 3]])
    a = ops.convert_to_numpy(layer(ids))
    b = ops.convert_to_numpy(layer(ids, segment_ids=np.zeros_like(ids)))
    np.testing.assert_array_equal(a, b)


def test_mask_zero_gives_implicit_mask():
    ids = keras.Input((4,), dtype="int32")
    layer = BertEmbedding(vocabulary_size=10, hidden_dim=4, mask_zero=True)
    mask = layer.compute_mask(np.array([[3, 4, 0, 0]]))
    np.testing.assert_array_equal(
        ops.convert_to_numpy(mask), [[True, True, False, False]]
    )
    assert tuple(layer(ids).shape) == (None, 4, 4)


def test_embeddings_is_the_token_table_for_tying():
    layer = BertEmbedding(vocabulary_size=10, hidden_dim=4)
    layer(np.array([[1]]))
    assert layer.embeddings is layer.token_embedding.embeddings
    assert tuple(layer.embeddings.shape) == (10, 4)


def test_bad_input():
    with pytest.raises(ValueError, match="vocabulary_size=0"):
        BertEmbedding(vocabulary_size=0, hidden_dim=4)
    layer = BertEmbedding(vocabulary_size=10, hidden_dim=4)
    with pytest.raises(ValueError, match=r"rank 2.*\(1, 2, 3\)"):
        layer(np.zeros((1, 2, 3), "int32"))
    short = BertEmbedding(10, 4, max_sequence_length=3)
    with pytest.raises(ValueError, match=r"sequence_length=3.*length 5"):
        short(np.zeros((1, 5), "int32"))
    no_segments = BertEmbedding(10, 4, num_segments=0)
    with pytest.raises(ValueError, match="num_segments=0"):
        no_segments(np.zeros((1, 2), "int32"), np.zeros((1, 2), "int32"))
