"""Tests of `keras_attn.layers.TransformerEncoder`.

The numeric reference is `keras_hub.layers.TransformerEncoder` with the same
weights copied in (its sublayers are in the same order as ours).
"""

import json
import re

import keras
import keras_hub
import numpy as np
import pytest
from keras import ops
from layer_checks import KERAS_ACTIVATIONS
from layer_checks import max_diff
from layer_checks import random_array
from layer_checks import random_weights
from layer_checks import run_layer_test
from layer_checks import to_np

from keras_attn.layers import TransformerEncoder

BATCH, LENGTH, HIDDEN, HEADS, INTERMEDIATE = 2, 6, 8, 2, 16
SHAPE = (BATCH, LENGTH, HIDDEN)
# One row fully real, one with its last three tokens padded.
PADDING = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], bool)


def encoder_pair(rng, activation="relu", normalize_first=False, eps=1e-3):
    """Our encoder and keras_hub's, built, with the same random weights."""
    config = {
        "intermediate_dim": INTERMEDIATE,
        "num_heads": HEADS,
        "dropout": 0.0,
        "layer_norm_epsilon": eps,
        "normalize_first": normalize_first,
    }
    ours = TransformerEncoder(activation=activation, **config)
    theirs = keras_hub.layers.TransformerEncoder(
        activation=KERAS_ACTIVATIONS[activation], **config
    )
    ours.build(SHAPE)
    theirs.build(SHAPE)
    our_shapes = [tuple(w.shape) for w in ours.weights]
    their_shapes = [tuple(w.shape) for w in theirs.weights]
    assert our_shapes == their_shapes
    assert len(our_shapes) == 16
    theirs.set_weights(random_weights(rng, theirs))
    ours.set_weights(theirs.get_weights())
    return ours, theirs


# --- shared behaviour ------------------------------------------------------

# 16 trainable weights: self-attention 8 (q, k, v, output kernel + bias),
# two layer norms 2 + 2 (gamma, beta), two dense layers 2 + 2.


def test_layer_behaviour_post_norm():
    run_layer_test(
        TransformerEncoder,
        {"intermediate_dim": INTERMEDIATE, "num_heads": HEADS},
        {"inputs": ((2, 6, 8), "float32")},
        expected_output_shape=(2, 6, 8),
        expected_num_trainable_weights=16,
    )


def test_layer_behaviour_pre_norm():
    run_layer_test(
        TransformerEncoder,
        {
            "intermediate_dim": 32,
            "num_heads": HEADS,
            "dropout": 0.1,
            "activation": "gelu",
            "layer_norm_epsilon": 1e-6,
            "normalize_first": True,
        },
        {"inputs": ((2, 5, 16), "float32")},
        expected_output_shape=(2, 5, 16),
        expected_num_trainable_weights=16,
    )


def test_config_round_trip_keeps_gelu_approximate():
    rng = np.random.default_rng(0)
    layer = TransformerEncoder(
        INTERMEDIATE, HEADS, activation="gelu_approximate"
    )
    layer.build(SHAPE)
    layer.set_weights(random_weights(rng, layer))
    config = json.loads(json.dumps(layer.get_config()))
    restored = TransformerEncoder.from_config(config)
    restored.build(SHAPE)
    restored.set_weights(layer.get_weights())
    x = random_array(rng, SHAPE, 2.0)
    assert max_diff(restored(x), layer(x)) == 0.0
    # And it is the tanh GELU, not the exact one.
    exact = TransformerEncoder(INTERMEDIATE, HEADS, activation="gelu")
    exact.build(SHAPE)
    exact.set_weights(layer.get_weights())
    assert max_diff(exact(x), layer(x)) > 1e-5


# --- numeric parity with keras_hub ------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_approximate"])
@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_keras_hub(activation, normalize_first):
    rng = np.random.default_rng(1)
    ours, theirs = encoder_pair(rng, activation, normalize_first)
    x = random_array(rng, SHAPE)
    attention = rng.random((BATCH, LENGTH, LENGTH)) < 0.5
    attention[:, np.arange(LENGTH), np.arange(LENGTH)] = True
    cases = [
        {},
        {"padding_mask": PADDING},
        {"attention_mask": attention},
        {"padding_mask": PADDING, "attention_mask": attention},
    ]
    for kwargs in cases:
        # Every position, padded queries included: both mask keys only.
        diff = max_diff(ours(x, **kwargs), theirs(x, **kwargs))
        assert diff <= 1e-5, (kwargs.keys(), diff)

    # A fully padded row attends to nothing. keras_hub (Keras MHA) gives
    # zero attention there only on its softmax path (with scores); its
    # fused path averages uniformly. Ours gives zero on both paths.
    fully_padded = np.array([[1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0]], bool)
    reference = theirs(
        x, padding_mask=fully_padded, return_attention_scores=True
    )[0]
    for return_scores in (False, True):
        out = ours(
            x, padding_mask=fully_padded, return_attention_scores=return_scores
        )
        out = out[0] if return_scores else out
        assert max_diff(out, reference) <= 1e-5, return_scores


@pytest.mark.parametrize("normalize_first", [False, True])
def test_attention_scores_match_keras_hub(normalize_first):
    rng = np.random.default_rng(2)
    ours, theirs = encoder_pair(rng, "gelu", normalize_first)
    x = random_array(rng, SHAPE)
    out, scores = ours(x, padding_mask=PADDING, return_attention_scores=True)
    ref_out, ref_scores = theirs(
        x, padding_mask=PADDING, return_attention_scores=True
    )
    assert max_diff(out, ref_out) <= 1e-5
    assert max_diff(scores, ref_scores) <= 1e-5


def test_layer_norm_epsilon_is_used():
    rng = np.random.default_rng(3)
    ours, theirs = encoder_pair(rng, eps=0.5)
    x = random_array(rng, SHAPE)
    assert max_diff(ours(x), theirs(x)) <= 1e-5
    default = TransformerEncoder(INTERMEDIATE, HEADS)
    default.build(SHAPE)
    default.set_weights(ours.get_weights())
    assert max_diff(default(x), theirs(x)) > 1e-3


# --- mask semantics ---------------------------------------------------------


@pytest.mark.parametrize("normalize_first", [False, True])
def test_implicit_mask_equals_explicit_mask(normalize_first):
    rng = np.random.default_rng(4)
    ids = rng.integers(1, 20, (BATCH, LENGTH)).astype("int32")
    ids[1, 3:] = 0
    embedding = keras.layers.Embedding(20, HIDDEN, mask_zero=True)
    encoder = TransformerEncoder(
        INTERMEDIATE, HEADS, normalize_first=normalize_first
    )
    inputs = keras.Input((LENGTH,), dtype="int32")
    model = keras.Model(inputs, encoder(embedding(inputs)))
    encoder.set_weights(random_weights(rng, encoder))

    implicit = to_np(model(ids))
    # A plain array carries no Keras mask.
    embedded = to_np(embedding(ids))
    explicit = to_np(encoder(embedded, padding_mask=ids != 0))
    unmasked = to_np(encoder(embedded))
    np.testing.assert_allclose(implicit, explicit, atol=1e-6, rtol=0)
    # The mask really is applied: without it the short row changes.
    assert np.max(np.abs(unmasked[1] - explicit[1])) > 1e-3
    np.testing.assert_allclose(unmasked[0], explicit[0], atol=1e-6, rtol=0)


def test_explicit_mask_wins_over_implicit_mask():
    rng = np.random.default_rng(5)
    ids = rng.integers(1, 20, (BATCH, LENGTH)).astype("int32")
    ids[1, 4:] = 0
    embedding = keras.layers.Embedding(20, HIDDEN, mask_zero=True)
    encoder = TransformerEncoder(INTERMEDIATE, HEADS)
    inputs = keras.Input((LENGTH,), dtype="int32")
    mask_input = keras.Input((LENGTH,), dtype="bool")
    model = keras.Model(
        [inputs, mask_input],
        encoder(embedding(inputs), padding_mask=mask_input),
    )
    encoder.set_weights(random_weights(rng, encoder))
    all_real = np.ones((BATCH, LENGTH), bool)
    out = to_np(model([ids, all_real]))
    expected = to_np(encoder(embedding(ids), padding_mask=all_real))
    np.testing.assert_allclose(out, expected, atol=1e-6, rtol=0)


def test_attention_mask_with_batch_one_broadcasts():
    rng = np.random.default_rng(6)
    layer = TransformerEncoder(INTERMEDIATE, HEADS)
    layer.build(SHAPE)
    layer.set_weights(random_weights(rng, layer))
    x = random_array(rng, SHAPE)
    mask = np.tril(np.ones((LENGTH, LENGTH), bool))[None]
    tiled = np.repeat(mask, BATCH, axis=0)
    assert (
        max_diff(layer(x, attention_mask=mask), layer(x, attention_mask=tiled))
        <= 1e-6
    )


@pytest.mark.parametrize("normalize_first", [False, True])
def test_padded_positions_never_change_real_outputs(normalize_first):
    rng = np.random.default_rng(7)
    layer = TransformerEncoder(
        INTERMEDIATE, HEADS, normalize_first=normalize_first
    )
    layer.build(SHAPE)
    layer.set_weights(random_weights(rng, layer))
    mask = np.array([[1, 1, 0, 1, 1, 0], [1, 1, 1, 0, 0, 0]], bool)
    x = random_array(rng, SHAPE)
    changed = np.where(mask[..., None], x, random_array(rng, SHAPE, 1e3))
    for return_scores in (False, True):
        out = layer(x, padding_mask=mask, return_attention_scores=return_scores)
        new = layer(
            changed, padding_mask=mask, return_attention_scores=return_scores
        )
        if return_scores:
            out, new = out[0], new[0]
        out, new = to_np(out), to_np(new)
        np.testing.assert_allclose(out[mask], new[mask], atol=1e-6, rtol=0)
        # The padded positions themselves did change (the test has teeth).
        assert np.max(np.abs(out[~mask] - new[~mask])) > 1e-2


# Post-norm without scores once overflowed on TensorFlow: the fused op
# formed q.k in float16 (inf past 65504) and the softmax gave NaN.
@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("return_scores", [False, True])
def test_float16_long_sequence_stays_finite(normalize_first, return_scores):
    rng = np.random.default_rng(8)
    length = 512
    layer = TransformerEncoder(
        32, HEADS, normalize_first=normalize_first, dtype="mixed_float16"
    )
    layer.build((2, length, 16))
    x = random_array(rng, (2, length, 16), 100.0)
    mask = np.zeros((2, length), bool)
    mask[0, : length - 37] = True  # row 1 is fully padded
    out = layer(x, padding_mask=mask, return_attention_scores=return_scores)
    if return_scores:
        out, scores = out
        scores = to_np(ops.cast(scores, "float32"))
        assert np.all(np.isfinite(scores))
        assert np.all(scores[1] == 0.0)
        assert np.all(scores[0][..., length - 37 :] == 0.0)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    out = to_np(ops.cast(out, "float32"))
    assert np.all(np.isfinite(out))


def test_float16_close_to_float32():
    rng = np.random.default_rng(9)
    layer32 = TransformerEncoder(INTERMEDIATE, HEADS)
    layer16 = TransformerEncoder(INTERMEDIATE, HEADS, dtype="mixed_float16")
    layer32.build(SHAPE)
    layer16.build(SHAPE)
    layer32.set_weights(random_weights(rng, layer32))
    layer16.set_weights(layer32.get_weights())
    x = random_array(rng, SHAPE)
    out16 = ops.cast(layer16(x, padding_mask=PADDING), "float32")
    assert max_diff(out16, layer32(x, padding_mask=PADDING)) <= 2e-2


# --- attention scores ---------------------------------------------------------


def test_attention_scores_shape_and_padded_keys_are_zero():
    rng = np.random.default_rng(10)
    layer = TransformerEncoder(INTERMEDIATE, HEADS)
    x = random_array(rng, SHAPE)
    attention = np.ones((BATCH, LENGTH, LENGTH), bool)
    attention[0, :, 2] = False
    out, scores = layer(
        x,
        padding_mask=PADDING,
        attention_mask=attention,
        return_attention_scores=True,
    )
    assert tuple(out.shape) == SHAPE
    assert tuple(scores.shape) == (BATCH, HEADS, LENGTH, LENGTH)
    scores = to_np(scores)
    assert np.all(scores[1, :, :, 3:] == 0.0)
    assert np.all(scores[0, :, :, 2] == 0.0)
    assert np.all(scores[1, :, :, :3] > 0.0)
    np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-6)
    # The same output as the fused path without scores.
    plain = layer(x, padding_mask=PADDING, attention_mask=attention)
    assert max_diff(out, plain) <= 1e-5


def test_fully_padded_row_attends_to_nothing():
    rng = np.random.default_rng(11)
    layer = TransformerEncoder(INTERMEDIATE, HEADS)
    layer.build(SHAPE)
    layer.set_weights(random_weights(rng, layer))
    x = random_array(rng, SHAPE)
    mask = np.array([[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]], bool)
    out, scores = layer(x, padding_mask=mask, return_attention_scores=True)
    assert np.all(to_np(scores)[1] == 0.0)
    # Zero attended value: the attention sub-block adds only its output
    # bias, so the result is the feed-forward block applied to
    # LayerNorm(x + output_bias), computed here by hand from the weights.
    weights = layer.get_weights()
    output_bias = weights[7]
    gamma1, beta1, gamma2, beta2 = weights[8:12]
    w1, b1, w2, b2 = weights[12:16]

    def layer_norm(v, gamma, beta):
        mean = v.mean(-1, keepdims=True)
        var = v.var(-1, keepdims=True)
        return (v - mean) / np.sqrt(var + 1e-5) * gamma + beta

    h = layer_norm(x[1].astype("float64") + output_bias, gamma1, beta1)
    f = np.maximum(h @ w1 + b1, 0.0) @ w2 + b2
    expected = layer_norm(h + f, gamma2, beta2)
    np.testing.assert_allclose(to_np(out)[1], expected, atol=1e-5, rtol=0)
    plain = layer(x, padding_mask=mask)
    assert max_diff(plain, out) <= 1e-5


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(2, 8), (2, 3, 6, 8)], ids=["rank2", "rank4"]
)
def test_wrong_rank_raises(shape):
    layer = TransformerEncoder(INTERMEDIATE, HEADS)
    expected = re.escape(str(shape).replace(",)", ")"))
    with pytest.raises(ValueError, match=f"rank 3.*received shape {expected}"):
        layer(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match=expected):
        layer.build(shape)


def test_hidden_not_divisible_by_heads_raises():
    layer = TransformerEncoder(INTERMEDIATE, num_heads=4)
    with pytest.raises(
        ValueError, match=r"num_heads=4.*received shape \(2, 5, 10\)"
    ):
        layer(np.zeros((2, 5, 10), "float32"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"padding_mask": np.ones((2, 5), bool)},
            r"`padding_mask` of shape \(2, 5\) does not broadcast",
        ),
        (
            {"padding_mask": np.ones((3, 6), bool)},
            r"`padding_mask` of shape \(3, 6\) does not broadcast",
        ),
        (
            {"padding_mask": np.ones((2, 6, 6), bool)},
            r"`padding_mask` must have rank 2.*received a mask of shape "
            r"\(2, 6, 6\)",
        ),
        (
            {"attention_mask": np.ones((2, 6, 5), bool)},
            r"`attention_mask` of shape \(2, 6, 5\) does not broadcast",
        ),
        (
            {"attention_mask": np.ones((2, 6), bool)},
            r"`attention_mask` must have rank 3.*received a mask of shape "
            r"\(2, 6\)",
        ),
    ],
    ids=["pad_len", "pad_batch", "pad_rank", "attn_len", "attn_rank"],
)
def test_bad_mask_shape_raises(kwargs, message):
    layer = TransformerEncoder(INTERMEDIATE, HEADS)
    layer.build(SHAPE)
    with pytest.raises(ValueError, match=message):
        layer(np.zeros(SHAPE, "float32"), **kwargs)
