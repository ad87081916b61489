"""TokenEmbedding: Keras's ReversibleEmbedding for valid ids, and a refusal
of every id outside the table, however the layer is run.

The bad ids are the ones users send by mistake (-1 as padding, the
vocabulary size itself, a tokenizer built for a bigger vocabulary) and the
int32 extremes. This file also runs under JAX (`test_backends.py`).
"""

import keras
import numpy as np
import pytest
from keras import ops
from layer_checks import run_layer_test
from layer_checks import to_np

from keras_attn.layers import TokenEmbedding

SIZE = 12
BAD_IDS = [-1, -SIZE, SIZE, SIZE + 1, 2**31 - 1, -(2**31)]


def table(**kwargs):
    layer = TokenEmbedding(SIZE, 4, **kwargs)
    layer.build((None, None))
    return layer


def test_layer_behaviour():
    run_layer_test(
        TokenEmbedding,
        {"input_dim": SIZE, "output_dim": 6},
        {"inputs": ((2, 5), "int32", SIZE)},
        expected_output_shape=(2, 5, 6),
        expected_num_trainable_weights=1,
    )


def test_equals_keras_reversible_embedding_on_valid_ids():
    ours = table()
    theirs = keras.layers.ReversibleEmbedding(SIZE, 4)
    theirs.build((None, None))
    theirs.set_weights(ours.get_weights())
    ids = np.arange(SIZE).reshape(3, 4)
    np.testing.assert_array_equal(to_np(ours(ids)), to_np(theirs(ids)))
    vectors = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_array_equal(
        to_np(ours(vectors, reverse=True)),
        to_np(theirs(vectors, reverse=True)),
    )


@pytest.mark.parametrize("bad", BAD_IDS)
def test_eager_call_names_the_bad_id_and_where_it_is(bad):
    ids = np.array([[1, 2, 3], [4, bad, 5]], dtype="int64")
    with pytest.raises(ValueError) as caught:
        table(ids_name="segment_ids")(ids)
    message = str(caught.value)
    assert f"`segment_ids` in [0, {SIZE})" in message
    assert f"{bad} at (1, 1)" in message


def test_every_bad_id_is_counted():
    ids = np.array([[-1, 2, SIZE, 3, 99, -7]])
    with pytest.raises(ValueError, match=r"received 4 id\(s\).*and 1 more"):
        table()(ids)


def test_float_ids_are_refused_not_truncated():
    # Keras's Embedding casts 2.7 to 2 without a word.
    with pytest.raises(TypeError, match="integer `token_ids`.*float32"):
        table()(np.array([[1.0, 2.7]], dtype="float32"))


def _compiled_calls():
    """(name, function) pairs that trace the layer instead of running it."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [
            ("graph", lambda f: tf.function(f)),
            ("xla", lambda f: tf.function(f, jit_compile=True)),
        ]
    if backend == "jax":
        import jax

        return [("jit", jax.jit)]
    return []


@pytest.mark.parametrize("bad", [-1, SIZE, 2**31 - 1])
def test_traced_call_raises_or_marks_the_bad_rows(bad):
    layer = table()
    ids = np.array([[1, 2, 3], [4, bad, 5]], dtype="int32")
    good = ids.copy()
    good[1, 1] = 0
    want = to_np(layer(good))
    calls = _compiled_calls()
    if not calls:
        pytest.skip(f"no traced call on {keras.backend.backend()}")
    for name, compile_ in calls:
        run = compile_(lambda x: layer(x))
        if name == "graph":
            # A TensorFlow graph keeps the check: the step stops.
            import tensorflow as tf

            with pytest.raises(tf.errors.InvalidArgumentError) as caught:
                run(ids)
            assert f"`token_ids` in [0, {SIZE})" in str(caught.value)
            continue
        # XLA drops Assert and JAX's jit cannot raise: the bad id's
        # vector is NaN, every other vector is untouched.
        got = to_np(run(ids))
        assert np.isnan(got[1, 1]).all(), name
        bad_row = np.zeros(ids.shape, bool)
        bad_row[1, 1] = True
        np.testing.assert_array_equal(got[~bad_row], want[~bad_row])


def test_int64_ids_and_the_last_row_are_valid():
    layer = table()
    ids = np.array([[0, SIZE - 1]], dtype="int64")
    weights = layer.get_weights()[0]
    np.testing.assert_array_equal(to_np(layer(ids))[0], weights[[0, SIZE - 1]])


def test_config_keeps_ids_name():
    layer = TokenEmbedding(SIZE, 4, ids_name="segment_ids", name="segments")
    clone = TokenEmbedding.from_config(layer.get_config())
    assert clone.ids_name == "segment_ids"
    assert clone.name == "segments"
    assert ops.shape(clone(np.array([[1]])))[-1] == 4
