import keras
import numpy as np
import pytest
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import PositionalEmbedding


def test_layer_behaviour():
    run_layer_test(
        PositionalEmbedding,
        {"sequence_length": 10},
        {"inputs": ((2, 7, 6), "float32")},
        expected_output_shape=(2, 7, 6),
        expected_num_trainable_weights=1,
    )


def test_returns_table_rows_broadcast_over_batch():
    layer = PositionalEmbedding(sequence_length=8)
    x = np.zeros((3, 5, 4), "float32")
    out = ops.convert_to_numpy(layer(x))
    table = ops.convert_to_numpy(layer.embeddings)
    for row in out:
        np.testing.assert_array_equal(row, table[:5])


def test_start_index_selects_later_rows():
    layer = PositionalEmbedding(sequence_length=8)
    x = np.zeros((1, 2, 4), "float32")
    layer(x)
    table = ops.convert_to_numpy(layer.embeddings)
    out = ops.convert_to_numpy(layer(x, start_index=5))
    np.testing.assert_array_equal(out[0], table[5:7])


def test_step_by_step_equals_full_pass():
    layer = PositionalEmbedding(sequence_length=6)
    x = np.zeros((2, 6, 3), "float32")
    full = ops.convert_to_numpy(layer(x))
    steps = [
        ops.convert_to_numpy(layer(x[:, i : i + 1], start_index=i))
        for i in range(6)
    ]
    np.testing.assert_array_equal(np.concatenate(steps, axis=1), full)


def test_too_long_sequence_names_both_lengths():
    layer = PositionalEmbedding(sequence_length=4)
    with pytest.raises(ValueError, match=r"sequence_length=4.*length 6"):
        layer(np.zeros((1, 6, 2), "float32"))
    with pytest.raises(ValueError, match=r"length 2 starting at 3"):
        layer(np.zeros((1, 2, 2), "float32"), start_index=3)
    with pytest.raises(ValueError, match=r"length 9"):
        layer(keras.Input((9, 2)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="sequence_length=0"):
        PositionalEmbedding(sequence_length=0)
    with pytest.raises(ValueError, match=r"rank 3.*\(2, 3\)"):
        PositionalEmbedding(4)(np.zeros((2, 3), "float32"))
