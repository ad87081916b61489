import keras
import numpy as np
import pytest
from attention_reference import RNG
from attention_reference import check_padding_against_numpy
from attention_reference import padding
from attention_reference import random
from attention_reference import randomize
from attention_reference import to_np
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import MultiHeadAttention
from keras_attn.layers import MultiHeadSelfAttention

# --- shared behaviour ------------------------------------------------------


def test_layer_behaviour_cross_attention():
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_dim": 6},
        {"query": ((2, 5, 8), "float32"), "value": ((2, 7, 10), "float32")},
        expected_output_shape=(2, 5, 6),
        expected_num_trainable_weights=8,
    )


def test_layer_behaviour_self_attention_form():
    run_layer_test(
        MultiHeadSelfAttention,
        {"num_heads": 4, "dropout": 0.1},
        {"inputs": ((2, 6, 8), "float32")},
        expected_output_shape=(2, 6, 8),
        expected_num_trainable_weights=8,
        call_kwargs={"use_causal_mask": True},
    )


def test_layer_behaviour_without_bias():
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "use_bias": False},
        {"query": ((2, 3, 4), "float32"), "value": ((2, 3, 4), "float32")},
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=4,
    )


# --- parity with Keras and with NumPy --------------------------------------


def _pair(num_heads=3, key_dim=4, value_dim=None, output_dim=None):
    ours = MultiHeadAttention(
        num_heads, key_dim, value_dim=value_dim, output_dim=output_dim
    )
    theirs = keras.layers.MultiHeadAttention(
        num_heads, key_dim, value_dim=value_dim, output_shape=output_dim
    )
    return ours, theirs


@pytest.mark.parametrize(
    "value_dim", [None, 5], ids=["same_dims", "value_dim_5"]
)
@pytest.mark.parametrize("masking", ["none", "attention", "causal"])
def test_matches_keras_multi_head_attention(masking, value_dim):
    batch, t, s = 3, 5, 7 if masking != "causal" else 5
    query, value, key = random((batch, t, 12)), random((batch, s, 10)), None
    if masking == "attention":
        key = random((batch, s, 9))
    ours, theirs = _pair(value_dim=value_dim, output_dim=11)
    ours(query, value, key)
    theirs(query, value, key, return_attention_scores=True)  # builds
    randomize(theirs)
    for mine, other in zip(ours.weights, theirs.weights, strict=True):
        assert tuple(mine.shape) == tuple(other.shape)
    ours.set_weights(theirs.get_weights())

    kwargs_ours, kwargs_theirs = {}, {}
    if masking == "attention":
        mask = RNG.random((batch, t, s)) > 0.4
        mask[:, :, 0] = True  # Keras averages fully masked rows; skip those.
        kwargs_ours = {"attention_mask": mask}
        kwargs_theirs = {"attention_mask": mask}
    if masking == "causal":
        kwargs_ours = kwargs_theirs = {"use_causal_mask": True}
    if value_dim is not None:
        # Keras 3.15's fused path under JAX cannot take value heads of
        # another size than key heads (a reshape error); its softmax path,
        # chosen by asking for the scores, can.
        kwargs_theirs = {**kwargs_theirs, "return_attention_scores": True}
    got = to_np(ours(query, value, key, **kwargs_ours))
    want = theirs(query, value, key, **kwargs_theirs)
    want = to_np(want[0] if isinstance(want, tuple) else want)
    assert np.abs(got - want).max() <= 1e-5


@pytest.mark.parametrize("return_scores", [False, True])
def test_matches_numpy_reference_with_padding(return_scores):
    # Both code paths: the fused dot_product_attention one (no scores) and
    # the explicit masked softmax (scores requested). The forms traced
    # into .tflite files are checked the same way in
    # tests/export/test_lowering.py.
    check_padding_against_numpy(return_scores)


# --- mask semantics --------------------------------------------------------


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("return_scores", [False, True])
def test_query_with_nothing_to_attend_gives_zeros(training, return_scores):
    layer = MultiHeadAttention(num_heads=2, dropout=0.5, use_bias=False)
    x = random((2, 4, 8), 10.0)
    mask = np.ones((2, 4, 4), bool)
    mask[0, 1, :] = False  # one row of one example
    mask[1] = False  # a whole example
    out = layer(
        x,
        x,
        attention_mask=mask,
        training=training,
        return_attention_scores=return_scores,
    )
    out = to_np(out[0] if return_scores else out)
    assert np.all(np.isfinite(out))
    assert np.all(out[0, 1] == 0.0)
    assert np.all(out[1] == 0.0)
    assert np.any(out[0, 0] != 0.0)


def test_fully_masked_row_returns_output_bias():
    layer = MultiHeadAttention(num_heads=2)
    x = random((1, 3, 4))
    layer(x, x)
    randomize(layer)
    out = to_np(layer(x, x, padding_mask=np.zeros((1, 3), bool)))
    bias = to_np(layer.output_bias)
    np.testing.assert_array_equal(out[0], np.broadcast_to(bias, (3, 4)))


def test_implicit_mask_equals_explicit_mask():
    ids = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]])
    embed = keras.layers.Embedding(10, 8, mask_zero=True)
    attention = MultiHeadSelfAttention(num_heads=2)
    x = embed(ids)
    implicit = to_np(attention(x))
    keep = ids != 0
    full = keep[:, :, None] & keep[:, None, :]
    explicit = to_np(attention(x, attention_mask=full))
    np.testing.assert_allclose(implicit, explicit, atol=1e-6)
    # The key-only padding mask agrees at real (unpadded) query positions.
    keys_only = to_np(attention(x, padding_mask=keep))
    np.testing.assert_allclose(implicit[keep], keys_only[keep], atol=1e-6)


def test_implicit_mask_in_functional_model():
    ids = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(10, 8, mask_zero=True)(ids)
    layer = MultiHeadSelfAttention(num_heads=2, name="attention")
    model = keras.Model(ids, layer(x))
    data = np.array([[3, 4, 0, 0, 0]])
    got = to_np(model(data))
    embedded = to_np(model.layers[1](data))
    keep = data != 0
    want = to_np(
        layer(embedded, attention_mask=keep[:, :, None] & keep[:, None, :])
    )
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_padded_keys_never_change_real_outputs():
    layer = MultiHeadSelfAttention(num_heads=2)
    x = random((2, 6, 8))
    keep = padding(2, 6, [4, 6])
    base = to_np(layer(x, padding_mask=keep))
    noisy = x.copy()
    noisy[~keep] = random((int((~keep).sum()), 8), 1e3)
    changed = to_np(layer(noisy, padding_mask=keep))
    np.testing.assert_allclose(base[keep], changed[keep], atol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_half_precision_stays_finite(policy):
    layer = MultiHeadSelfAttention(num_heads=4, dtype=policy)
    x = random((2, 512, 32), 30.0)
    keep = padding(2, 512, [300, 0])
    for scores in (False, True):
        out = layer(x, padding_mask=keep, return_attention_scores=scores)
        for tensor in out if scores else (out,):
            values = to_np(ops.cast(tensor, "float32"))
            assert np.all(np.isfinite(values)), policy


def test_half_precision_close_to_float32():
    x = random((2, 64, 16))
    keep = padding(2, 64, [40, 64])
    full = MultiHeadSelfAttention(num_heads=2)
    half = MultiHeadSelfAttention(num_heads=2, dtype="mixed_float16")
    full(x)
    half(x)
    half.set_weights(full.get_weights())
    a = to_np(full(x, padding_mask=keep))
    b = to_np(ops.cast(half(x, padding_mask=keep), "float32"))
    assert np.abs(a - b).max() < 2e-2


# --- cache -----------------------------------------------------------------


def test_cached_steps_equal_full_causal_pass():
    batch, length, hidden, heads = 2, 6, 8, 2
    layer = MultiHeadSelfAttention(num_heads=heads)
    x = random((batch, length, hidden))
    full = to_np(layer(x, use_causal_mask=True))
    cache = np.zeros((batch, 2, length, heads, hidden // heads), "float32")
    steps = []
    # A two-token prefix written at once, then one token at a time.
    out, cache = layer(
        x[:, :2], use_causal_mask=True, cache=cache, cache_update_index=0
    )
    steps.append(to_np(out))
    for i in range(2, length):
        out, cache = layer(
            x[:, i : i + 1],
            use_causal_mask=True,
            cache=cache,
            cache_update_index=i,
        )
        steps.append(to_np(out))
    assert np.abs(np.concatenate(steps, axis=1) - full).max() <= 1e-5


def test_precomputed_cross_attention_cache():
    layer = MultiHeadAttention(num_heads=2, key_dim=3)
    query, memory = random((2, 4, 6)), random((2, 5, 6))
    want = to_np(layer(query, memory))
    k = to_np(layer._project(memory, layer.key_kernel, layer.key_bias))
    v = to_np(layer._project(memory, layer.value_kernel, layer.value_bias))
    cache = np.stack([k, v], axis=1)
    got, same_cache = layer(query, memory, cache=cache)
    assert np.abs(to_np(got) - want).max() <= 1e-6
    np.testing.assert_array_equal(to_np(same_cache), cache)


# --- bad input -------------------------------------------------------------


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="num_heads=0"):
        MultiHeadAttention(num_heads=0)
    with pytest.raises(ValueError, match=r"dropout=1\.5"):
        MultiHeadAttention(num_heads=2, dropout=1.5)
    with pytest.raises(ValueError, match="key_dim=-1"):
        MultiHeadAttention(num_heads=2, key_dim=-1)


def test_hidden_size_not_divisible_by_heads():
    layer = MultiHeadAttention(num_heads=3)
    x = random((1, 2, 8))
    with pytest.raises(ValueError, match="hidden size 8"):
        layer(x, x)


def test_wrong_rank():
    layer = MultiHeadAttention(num_heads=2)
    with pytest.raises(ValueError, match=r"received shape \(2, 8\)"):
        layer(random((2, 8)), random((2, 3, 8)))


def test_key_value_length_mismatch():
    layer = MultiHeadAttention(num_heads=2)
    with pytest.raises(ValueError, match=r"key shape \(1, 4, 8\)"):
        layer(random((1, 3, 8)), random((1, 5, 8)), random((1, 4, 8)))


def test_mask_shapes_that_do_not_broadcast():
    layer = MultiHeadAttention(num_heads=2)
    x = random((2, 3, 8))
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        layer(x, x, padding_mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"\(2, 3, 5\)"):
        layer(x, x, attention_mask=np.ones((2, 3, 5), bool))
    with pytest.raises(ValueError, match="rank 3"):
        layer(x, x, attention_mask=np.ones((2, 3), bool))
