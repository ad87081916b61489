import keras
import numpy as np
import pytest
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import WordGather


def test_layer_behaviour():
    run_layer_test(
        WordGather,
        {},
        {"inputs": ((3, 7, 8), "float32"), "word_starts": ((3, 4), "int32", 7)},
        expected_output_shape=(3, 4, 8),
        expected_num_trainable_weights=0,
    )


def test_matches_numpy_fancy_indexing():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 9, 5)).astype("float32")
    starts = rng.integers(0, 9, size=(3, 6))
    out = ops.convert_to_numpy(WordGather()(x, starts))
    want = x[np.arange(3)[:, None], starts]  # (3, 6, 5)
    np.testing.assert_array_equal(out, want)


def test_out_of_range_positions_are_clipped():
    x = np.arange(2 * 4 * 2, dtype="float32").reshape(2, 4, 2)
    out = ops.convert_to_numpy(WordGather()(x, np.array([[-3, 9], [5, 1]])))
    np.testing.assert_array_equal(out[0, 0], x[0, 0])
    np.testing.assert_array_equal(out[0, 1], x[0, 3])
    np.testing.assert_array_equal(out[1, 0], x[1, 3])
    np.testing.assert_array_equal(out[1, 1], x[1, 1])


def test_gradient_reaches_only_the_gathered_pieces():
    x = np.ones((1, 5, 3), "float32")
    starts = np.array([[1, 1, 4]])
    if keras.backend.backend() == "jax":
        import jax

        grad = jax.grad(lambda v: WordGather()(v, starts).sum())(x)
    else:
        import tensorflow as tf

        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(WordGather()(variable, starts))
        grad = tape.gradient(total, variable)
    np.testing.assert_array_equal(np.asarray(grad)[0, :, 0], [0, 2, 0, 0, 1])


def test_bad_rank():
    with pytest.raises(ValueError, match=r"word_starts.*rank 2"):
        WordGather()(np.zeros((1, 4, 2), "float32"), np.zeros((4,), "int32"))
