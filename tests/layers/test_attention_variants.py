"""The attention variants of `MultiHeadAttention`: scoring functions,
local (windowed) attention and hard attention, against NumPy written
from the papers' formulas (tests/variant_reference.py) and against
Keras's own `MultiHeadAttention(sliding_window=...)`."""

import keras
import numpy as np
import pytest
import variant_reference as ref
from attention_reference import RNG
from attention_reference import padding
from attention_reference import random
from attention_reference import randomize
from attention_reference import to_np
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import MultiHeadAttention
from keras_attn.layers import MultiHeadSelfAttention
from keras_attn.layers import TransformerDecoder
from keras_attn.layers import TransformerEncoder

SCORES = ["scaled_dot", "dot", "general", "additive"]

# Argument plumbing and weight names, the same on every backend: checked
# once, on TensorFlow (tests/test_backends.py reruns tests/layers on JAX,
# where every eager op compiles).
plumbing = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="argument plumbing, checked on the TensorFlow run",
)


def _layer(query, value, **kwargs):
    layer = MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    layer(query, value)
    randomize(layer)
    return layer


# --- scoring functions ------------------------------------------------------


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("return_scores", [False, True])
def test_each_score_matches_numpy(score, return_scores):
    batch, t, s = 3, 4, 5
    query, value = random((batch, t, 6)), random((batch, s, 6))
    layer = _layer(query, value, score=score)
    pad = padding(batch, s, [5, 2, 0])  # the last row attends to nothing
    out = layer(
        query, value, padding_mask=pad, return_attention_scores=return_scores
    )
    mask = np.repeat(pad[:, None], t, 1)
    want, want_probs = ref.attention(
        query, value, layer.get_weights(), score, mask
    )
    got = to_np(out[0] if return_scores else out)
    np.testing.assert_allclose(got, want, atol=2e-5)
    if return_scores:
        np.testing.assert_allclose(to_np(out[1]), want_probs, atol=2e-6)
    # The fully masked row is the output bias exactly, never NaN.
    np.testing.assert_array_equal(
        got[2], np.broadcast_to(layer.output_bias.numpy(), got[2].shape)
    )


@plumbing
def test_score_weights_come_after_the_default_ones():
    x = random((1, 3, 4))
    names = {}
    for score in SCORES:
        weights = _layer(x, x, score=score).weights
        names[score] = [w.path.split("/")[-1] for w in weights]
    assert names["dot"] == names["scaled_dot"]
    assert names["general"] == names["scaled_dot"] + ["score_kernel"]
    assert names["additive"] == names["scaled_dot"] + ["score_vector"]
    layer = _layer(x, x, score="general")
    assert tuple(layer.score_kernel.shape) == (2, 3, 3)


def test_general_hard_layer_behaviour():
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "key_dim": 3, "score": "general", "hard": "argmax"},
        {"query": ((2, 5, 8), "float32"), "value": ((2, 7, 8), "float32")},
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=9,
    )


def test_additive_window_layer_behaviour():
    # 17 positions, a window of 2: the block path (17 > 8 * 2).
    run_layer_test(
        MultiHeadSelfAttention,
        {"num_heads": 2, "window": 2, "score": "additive"},
        {"inputs": ((2, 17, 8), "float32")},
        expected_output_shape=(2, 17, 8),
        expected_num_trainable_weights=9,
        call_kwargs={"use_causal_mask": True},
    )


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_scores_in_half_precision(policy):
    x = random((2, 5, 8))
    full = _layer(x, x, score="dot")
    half = MultiHeadAttention(2, 3, score="dot", dtype=policy)
    half(x, x)
    half.set_weights(full.get_weights())
    want = to_np(full(x, x, use_causal_mask=True))
    got = to_np(half(x, x, use_causal_mask=True)).astype("float32")
    assert np.abs(got - want).max() <= 0.02 * np.abs(want).max()
    # Unscaled q.k of inputs this large is about 3e5, past float16's
    # 65504: the logits are formed in float32 and stay finite. (Which key
    # wins such a sharp softmax is down to float16's rounding of q and k,
    # so only finiteness is checked here.)
    large = random((2, 5, 8), 300.0)
    assert np.isfinite(to_np(half(large, large, use_causal_mask=True))).all()


@pytest.mark.parametrize(
    "variant",
    [
        {"score": "additive"},
        {"window": 2},
        {"score": "general", "hard": "argmax"},
    ],
    ids=["additive", "window", "general_argmax"],
)
def test_cached_steps_equal_the_full_pass(variant):
    x = random((2, 7, 8))
    layer = _layer(x, x, **variant)
    full = to_np(layer(x, x, use_causal_mask=True))
    cache = ops.zeros((2, 2, 7, 2, 3))
    for i in range(7):
        out, cache = layer(
            x[:, i : i + 1],
            x[:, i : i + 1],
            use_causal_mask=True,
            cache=cache,
            cache_update_index=i,
        )
        np.testing.assert_allclose(to_np(out)[:, 0], full[:, i], atol=1e-5)


# --- local attention --------------------------------------------------------


def _keras_pair(window, length=25, hidden=8):
    x = random((2, length, hidden))
    ours = MultiHeadAttention(num_heads=2, key_dim=4, window=window)
    theirs = keras.layers.MultiHeadAttention(
        num_heads=2, key_dim=4, sliding_window=window + 1
    )
    ours(x, x)
    theirs(x, x)
    randomize(theirs)
    ours.set_weights(theirs.get_weights())
    return x, ours, theirs


@pytest.mark.parametrize("causal", [False, True], ids=["both_sides", "causal"])
@pytest.mark.parametrize("window", [1, 3])
def test_window_equals_keras_sliding_window(window, causal):
    # 25 positions and windows of 1 and 3: 25 and 9 blocks, the last one
    # partly padding, so the block path runs (25 > 8 * window).
    x, ours, theirs = _keras_pair(window)
    assert ours._blocks_apply(x, x, None, None, False)
    got = to_np(ours(x, x, use_causal_mask=causal))
    want = to_np(theirs(x, x, use_causal_mask=causal))
    np.testing.assert_allclose(got, want, atol=1e-5)
    mask = np.broadcast_to(ref.band(25, 25, window, causal), (2, 25, 25))
    np_out, _ = ref.attention(x, x, ours.get_weights(), "scaled_dot", mask)
    np.testing.assert_allclose(got, np_out, atol=1e-5)


@pytest.mark.parametrize("score", ["additive", "general"])
def test_blocks_equal_the_band_mask_with_padding(score):
    # The block path against the dense band (forced by asking for the
    # scores), with padded keys and a row of nothing but padding.
    x = random((3, 17, 6))
    layer = _layer(x, x, score=score, window=2)
    assert layer._blocks_apply(x, x, None, None, False)
    pad = padding(3, 17, [17, 4, 0])
    blocks = to_np(layer(x, x, padding_mask=pad, use_causal_mask=True))
    dense, probs = layer(
        x,
        x,
        padding_mask=pad,
        use_causal_mask=True,
        return_attention_scores=True,
    )
    np.testing.assert_allclose(blocks, to_np(dense), atol=1e-5)
    band = ref.band(17, 17, 2, causal=True)
    assert not to_np(probs)[:, :, ~band].any()
    mask = band[None] & pad[:, None, :]
    want, _ = ref.attention(x, x, layer.get_weights(), score, mask)
    np.testing.assert_allclose(blocks, want, atol=2e-5)


def test_window_implicit_mask_equals_explicit():
    x = random((2, 17, 8))
    layer = _layer(x, x, window=2)
    lengths = [17, 6]
    pad = padding(2, 17, lengths)
    masked = keras.layers.Masking(mask_value=0.0)(x * pad[:, :, None])
    implicit = to_np(layer(masked, masked))
    explicit = to_np(layer(x * pad[:, :, None], x, padding_mask=pad))
    for row, n in enumerate(lengths):
        np.testing.assert_allclose(
            implicit[row, :n], explicit[row, :n], atol=1e-5
        )


def test_window_cost_grows_with_length_times_window():
    # The traced graph of the block path holds no tensor of length x
    # length: the largest is (batch * blocks, heads, r, 3 r).
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        pytest.skip("reads a TensorFlow graph")
    length, window = 96, 4
    x = random((1, length, 8))
    layer = _layer(x, x, window=window)
    graph = (
        tf.function(lambda t: layer(t, t))
        .get_concrete_function(tf.TensorSpec(x.shape))
        .graph
    )
    sizes = [
        int(np.prod(out.shape))
        for op in graph.get_operations()
        for out in op.outputs
        if out.shape.rank and out.shape.is_fully_defined()
    ]
    assert max(sizes) < length * length
    assert max(sizes) <= 2 * length * 3 * window  # two heads


# --- hard attention ---------------------------------------------------------


def test_argmax_picks_the_best_allowed_key_and_never_a_masked_one():
    batch, t, s = 3, 4, 6
    query, value = random((batch, t, 6)), random((batch, s, 6))
    layer = _layer(query, value, hard="argmax")
    pad = padding(batch, s, [6, 2, 0])
    out, weights = layer(
        query, value, padding_mask=pad, return_attention_scores=True
    )
    mask = np.repeat(pad[:, None], t, 1)
    want, want_weights = ref.attention(
        query, value, layer.get_weights(), "scaled_dot", mask, hard="argmax"
    )
    np.testing.assert_array_equal(to_np(weights), want_weights)
    np.testing.assert_allclose(to_np(out), want, atol=1e-5)
    # Unmasked, the best key is a masked one for some rows: check that the
    # choice moved off the masked keys rather than agreeing by chance.
    _, unmasked = layer(query, value, return_attention_scores=True)
    chosen = to_np(unmasked)[1].argmax(-1)
    assert (chosen >= 2).any()


def test_sample_draws_follow_the_attention_distribution():
    query, value = random((1, 1, 6)), random((1, 5, 6))
    layer = _layer(query, value, hard="sample", seed=3)
    soft = _layer(query, value)
    soft.set_weights(layer.get_weights())
    pad = np.array([[True, True, True, True, False]])
    _, probs = soft(
        query, value, padding_mask=pad, return_attention_scores=True
    )
    probs = to_np(probs)[0, :, 0]  # (heads, keys)
    many = np.repeat(query, 4000, axis=0)
    _, drawn = layer(
        many,
        np.repeat(value, 4000, axis=0),
        padding_mask=np.repeat(pad, 4000, axis=0),
        return_attention_scores=True,
    )
    drawn = to_np(drawn)[:, :, 0]  # (4000, heads, keys)
    assert set(np.unique(drawn.sum(-1))) == {1.0}
    assert not drawn[..., 4].any()  # the masked key, never drawn
    share = drawn.mean(0)
    # Binomial standard error at 4000 draws is at most 0.008.
    np.testing.assert_allclose(share, probs, atol=0.035)


def test_straight_through_gradient_is_the_softmax_gradient():
    # The loss is linear in the attention weights, so the straight-through
    # gradient with respect to the query equals the soft layer's.
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        pytest.skip("uses tf.GradientTape")
    query, value = random((2, 3, 6)), random((2, 5, 6))
    hard = _layer(query, value, hard="argmax")
    soft = _layer(query, value)
    soft.set_weights(hard.get_weights())
    direction = random((2, 3, 6))

    def gradient(layer):
        q = tf.constant(query)
        with tf.GradientTape() as tape:
            tape.watch(q)
            loss = tf.reduce_sum(
                (layer(q, value, training=True) - layer.output_bias) * direction
            )
        return tape.gradient(loss, q).numpy()

    want = gradient(soft)
    got = gradient(hard)
    assert np.abs(want).max() > 1e-3
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("hard", ["argmax", "sample"])
def test_fit_learns_to_point_at_the_marked_key(hard):
    # Each sequence has one marked position (feature 0 is 1 there); the
    # target is that position's payload (feature 1). Only attention that
    # learns to pick the mark can do better than the mean.
    keras.utils.set_random_seed(0)
    n, length = 256, 6
    x = RNG.standard_normal((n, length, 4)).astype("float32")
    x[:, :, 0] = 0.0
    marks = RNG.integers(0, length, n)
    x[np.arange(n), marks, 0] = 1.0
    target = x[np.arange(n), marks, 1][:, None]
    inputs = keras.Input((length, 4))
    query = keras.layers.Lambda(lambda t: ops.ones_like(t[:, :1]))(inputs)
    attended = MultiHeadAttention(1, key_dim=4, hard=hard, seed=1)(
        query, inputs
    )
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(attended))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.05), "mse")
    before = model.evaluate(x, target, verbose=0)
    model.fit(x, target, epochs=40, batch_size=64, verbose=0)
    after = model.evaluate(x, target, verbose=0)
    assert after < 0.2 * before


# --- the blocks pass the variant on; bad arguments --------------------------


@plumbing
def test_blocks_pass_the_variant_to_their_attention():
    encoder = TransformerEncoder(16, 2, score="additive", window=2, hard=None)
    encoder(random((1, 8, 8)))
    attention = encoder.self_attention
    assert (attention.score, attention.window) == ("additive", 2)
    decoder = TransformerDecoder(16, 2, score="general", window=3)
    decoder(random((1, 4, 8)), random((1, 6, 8)))
    assert decoder.self_attention.window == 3
    assert decoder.cross_attention.window is None
    assert decoder.cross_attention.score == "general"
    config = TransformerEncoder.from_config(encoder.get_config()).get_config()
    assert (config["score"], config["window"]) == ("additive", 2)


@plumbing
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"score": "cosine"}, "`score` must be one of"),
        ({"window": 0}, "`window`"),
        ({"hard": "max"}, "`hard` must be None, 'argmax' or 'sample'"),
        ({"seed": 1.5}, "`seed` must be an int"),
    ],
)
def test_bad_variant_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        MultiHeadAttention(2, **kwargs)
    if "seed" not in kwargs:
        with pytest.raises((ValueError, TypeError), match=message):
            TransformerEncoder(8, 2, **kwargs)


@pytest.mark.parametrize(
    "variant",
    [
        {"score": "general", "hard": "argmax"},
        {"score": "additive", "window": 2},
    ],
    ids=["general_argmax", "additive_window"],
)
def test_variants_save_and_load(tmp_path, variant):
    inputs = keras.Input((17, 8))
    outputs = MultiHeadSelfAttention(2, **variant)(inputs)
    model = keras.Model(inputs, outputs)
    randomize(model.layers[-1])
    x = random((2, 17, 8))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    layer = loaded.layers[-1]
    assert {k: layer.get_config()[k] for k in variant} == variant
    np.testing.assert_array_equal(to_np(loaded(x)), to_np(model(x)))
