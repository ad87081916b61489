"""Tests of `keras_attn.layers.TransformerDecoder`.

The numeric reference is `keras_hub.layers.TransformerDecoder` with the same
weights copied in (its sublayers are built in the same order as ours).
"""

import json
import re

import keras
import keras_hub
import numpy as np
import pytest
from keras import ops
from layer_checks import KERAS_ACTIVATIONS
from layer_checks import decode_step_by_step
from layer_checks import max_diff
from layer_checks import random_array
from layer_checks import random_weights
from layer_checks import run_layer_test
from layer_checks import to_np

from keras_attn.layers import TransformerDecoder

BATCH, TARGET, SOURCE, HIDDEN, HEADS, INTERMEDIATE = 2, 5, 7, 8, 2, 16
DEC_SHAPE = (BATCH, TARGET, HIDDEN)
ENC_SHAPE = (BATCH, SOURCE, HIDDEN)
DEC_PADDING = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
ENC_PADDING = np.array([[1, 1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0, 0]], bool)


def randomize(rng, layer):
    layer.set_weights(random_weights(rng, layer))


def decoder_pair(rng, activation="relu", normalize_first=False, cross=True):
    """Our decoder and keras_hub's, built, with the same random weights."""
    config = {
        "intermediate_dim": INTERMEDIATE,
        "num_heads": HEADS,
        "dropout": 0.0,
        "layer_norm_epsilon": 1e-5,
        "normalize_first": normalize_first,
    }
    ours = TransformerDecoder(activation=activation, **config)
    theirs = keras_hub.layers.TransformerDecoder(
        activation=KERAS_ACTIVATIONS[activation], **config
    )
    encoder_shape = ENC_SHAPE if cross else None
    ours.build(DEC_SHAPE, encoder_shape)
    theirs.build(DEC_SHAPE, encoder_shape)
    our_shapes = [tuple(w.shape) for w in ours.weights]
    their_shapes = [tuple(w.shape) for w in theirs.weights]
    assert our_shapes == their_shapes
    assert len(our_shapes) == (26 if cross else 16)
    randomize(rng, theirs)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


# --- shared behaviour ------------------------------------------------------

# Self-attention 8 weights (q, k, v, output kernel and bias), its layer norm
# 2, cross-attention 8 and its layer norm 2, feed-forward 4 and its layer
# norm 2: 26 with cross-attention, 16 without.


def test_layer_behaviour_with_encoder():
    run_layer_test(
        TransformerDecoder,
        {"intermediate_dim": INTERMEDIATE, "num_heads": HEADS},
        {
            "decoder_sequence": ((2, 5, 8), "float32"),
            "encoder_sequence": ((2, 7, 8), "float32"),
        },
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=26,
    )


def test_layer_behaviour_decoder_only_pre_norm():
    run_layer_test(
        TransformerDecoder,
        {
            "intermediate_dim": 32,
            "num_heads": 4,
            "dropout": 0.1,
            "activation": "gelu_approximate",
            "layer_norm_epsilon": 1e-6,
            "normalize_first": True,
        },
        {"decoder_sequence": ((2, 6, 16), "float32")},
        expected_output_shape=(2, 6, 16),
        expected_num_trainable_weights=16,
    )


def test_encoder_hidden_size_may_differ():
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    out = layer(np.ones(DEC_SHAPE, "float32"), np.ones((2, 7, 12), "float32"))
    assert tuple(out.shape) == DEC_SHAPE
    assert tuple(layer.cross_attention.key_kernel.shape) == (12, HEADS, 4)


# --- numeric parity with keras_hub ------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_approximate"])
@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_keras_hub_with_encoder(activation, normalize_first):
    rng = np.random.default_rng(1)
    ours, theirs = decoder_pair(rng, activation, normalize_first)
    target = random_array(rng, DEC_SHAPE)
    source = random_array(rng, ENC_SHAPE)
    cross = rng.random((BATCH, TARGET, SOURCE)) < 0.6
    cross[:, :, 0] = True  # every query sees at least one key
    cases = [
        {},
        {"decoder_padding_mask": DEC_PADDING},
        {"encoder_padding_mask": ENC_PADDING},
        {
            "decoder_padding_mask": DEC_PADDING,
            "encoder_padding_mask": ENC_PADDING,
        },
        {"encoder_attention_mask": cross},
        {"use_causal_mask": False, "decoder_padding_mask": DEC_PADDING},
    ]
    for kwargs in cases:
        diff = max_diff(
            ours(target, source, **kwargs), theirs(target, source, **kwargs)
        )
        assert diff <= 1e-5, (sorted(kwargs), diff)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_keras_hub_decoder_only(normalize_first):
    rng = np.random.default_rng(2)
    ours, theirs = decoder_pair(
        rng, "gelu", normalize_first=normalize_first, cross=False
    )
    target = random_array(rng, DEC_SHAPE)
    self_mask = np.tril(np.ones((TARGET, TARGET), bool))[None].repeat(2, 0)
    self_mask[0, 3, 1] = False
    for kwargs in (
        {},
        {"decoder_padding_mask": DEC_PADDING},
        {"decoder_attention_mask": self_mask, "use_causal_mask": False},
    ):
        diff = max_diff(ours(target, **kwargs), theirs(target, **kwargs))
        assert diff <= 1e-5, (sorted(kwargs), diff)


def test_cached_decoding_matches_keras_hub_cache():
    """Both libraries' caches hold the same keys and values, step by step."""
    rng = np.random.default_rng(3)
    ours, theirs = decoder_pair(rng, cross=False)
    target = random_array(rng, DEC_SHAPE)
    head_dim = HIDDEN // HEADS
    our_cache = np.zeros((BATCH, 2, TARGET, HEADS, head_dim), "float32")
    their_cache = our_cache
    for i in range(TARGET):
        step = target[:, i : i + 1]
        out, our_cache = ours(
            step,
            self_attention_cache=our_cache,
            self_attention_cache_update_index=i,
        )
        ref, their_cache = theirs(
            step,
            self_attention_cache=their_cache,
            self_attention_cache_update_index=i,
        )
        assert max_diff(out, ref) <= 1e-5, i
        assert max_diff(our_cache, their_cache) <= 1e-5, i


# --- cached decoding ----------------------------------------------------------


@pytest.mark.parametrize("normalize_first", [False, True])
def test_cached_steps_equal_full_causal_pass(normalize_first):
    rng = np.random.default_rng(4)
    layer = TransformerDecoder(
        INTERMEDIATE, HEADS, normalize_first=normalize_first
    )
    layer.build(DEC_SHAPE, ENC_SHAPE)
    randomize(rng, layer)
    target = random_array(rng, DEC_SHAPE)
    source = random_array(rng, ENC_SHAPE)
    full = to_np(layer(target, source, encoder_padding_mask=ENC_PADDING))

    steps, cache = decode_step_by_step(
        layer,
        target,
        source,
        HEADS,
        HIDDEN // HEADS,
        encoder_padding_mask=ENC_PADDING,
    )
    np.testing.assert_allclose(steps, full, atol=1e-5, rtol=0)
    # The filled cache holds every position's key and value.
    assert np.all(np.any(to_np(cache) != 0.0, axis=(1, 3, 4)))


def test_precomputed_cross_attention_cache_gives_the_same_steps():
    rng = np.random.default_rng(5)
    layer, theirs = decoder_pair(rng)
    target = random_array(rng, DEC_SHAPE)
    source = random_array(rng, ENC_SHAPE)
    # keras_hub's decoder, which projects the encoder outputs itself, on
    # the full causal pass is the reference.
    full = to_np(theirs(target, source, encoder_padding_mask=ENC_PADDING))
    cross = layer.compute_cross_attention_cache(source)
    assert tuple(cross.shape) == (BATCH, 2, SOURCE, HEADS, HIDDEN // HEADS)
    cache = ops.zeros((BATCH, 2, TARGET, HEADS, HIDDEN // HEADS))
    steps = []
    for i in range(TARGET):
        out, scores, cross_scores, cache = layer(
            target[:, i : i + 1],
            source,
            encoder_padding_mask=ENC_PADDING,
            self_attention_cache=cache,
            self_attention_cache_update_index=i,
            cross_attention_cache=cross,
            return_attention_scores=True,
        )
        assert tuple(cross_scores.shape) == (BATCH, HEADS, 1, SOURCE)
        steps.append(to_np(out))
    np.testing.assert_allclose(
        np.concatenate(steps, axis=1), full, atol=1e-5, rtol=0
    )


def test_cross_attention_cache_needs_cross_attention():
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    layer.build(DEC_SHAPE)
    with pytest.raises(ValueError, match="has no cross-attention"):
        layer.compute_cross_attention_cache(np.zeros(ENC_SHAPE, "float32"))


def test_cache_update_index_as_tensor_inside_a_compiled_loop():
    """The index may be a traced scalar, as in a generation loop."""
    rng = np.random.default_rng(5)
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    layer.build(DEC_SHAPE)
    randomize(rng, layer)
    target = random_array(rng, DEC_SHAPE)
    full = to_np(layer(target))
    cache = ops.zeros((BATCH, 2, TARGET, HEADS, HIDDEN // HEADS))

    def body(i, cache, outputs):
        step = ops.slice(target, [0, i, 0], [BATCH, 1, HIDDEN])
        out, cache = layer(
            step,
            self_attention_cache=cache,
            self_attention_cache_update_index=i,
        )
        outputs = ops.slice_update(outputs, [0, i, 0], out)
        return i + 1, cache, outputs

    _, _, outputs = ops.while_loop(
        lambda i, cache, outputs: i < TARGET,
        body,
        (ops.convert_to_tensor(0), cache, ops.zeros(DEC_SHAPE)),
    )
    np.testing.assert_allclose(to_np(outputs), full, atol=1e-5, rtol=0)


# --- mask semantics ---------------------------------------------------------


def test_implicit_masks_equal_explicit_masks():
    rng = np.random.default_rng(6)
    dec_ids = rng.integers(1, 20, (BATCH, TARGET)).astype("int32")
    enc_ids = rng.integers(1, 20, (BATCH, SOURCE)).astype("int32")
    dec_ids[~DEC_PADDING] = 0
    enc_ids[~ENC_PADDING] = 0
    dec_embedding = keras.layers.Embedding(20, HIDDEN, mask_zero=True)
    enc_embedding = keras.layers.Embedding(20, HIDDEN, mask_zero=True)
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    dec_in = keras.Input((TARGET,), dtype="int32")
    enc_in = keras.Input((SOURCE,), dtype="int32")
    model = keras.Model(
        [dec_in, enc_in], layer(dec_embedding(dec_in), enc_embedding(enc_in))
    )
    randomize(rng, layer)
    implicit = to_np(model([dec_ids, enc_ids]))
    # NumPy copies carry no Keras mask.
    target = to_np(dec_embedding(dec_ids))
    source = to_np(enc_embedding(enc_ids))
    explicit = to_np(
        layer(
            target,
            source,
            decoder_padding_mask=DEC_PADDING,
            encoder_padding_mask=ENC_PADDING,
        )
    )
    np.testing.assert_allclose(implicit, explicit, atol=1e-6, rtol=0)
    unmasked = to_np(layer(target, source))
    assert np.max(np.abs(unmasked - explicit)) > 1e-3  # the masks mattered


def test_padded_positions_never_change_real_outputs():
    rng = np.random.default_rng(7)
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    layer.build(DEC_SHAPE, ENC_SHAPE)
    randomize(rng, layer)
    target = random_array(rng, DEC_SHAPE)
    source = random_array(rng, ENC_SHAPE)
    new_target = np.where(
        DEC_PADDING[..., None], target, random_array(rng, DEC_SHAPE, 1e3)
    )
    new_source = np.where(
        ENC_PADDING[..., None], source, random_array(rng, ENC_SHAPE, 1e3)
    )
    masks = {
        "decoder_padding_mask": DEC_PADDING,
        "encoder_padding_mask": ENC_PADDING,
    }
    out = to_np(layer(target, source, **masks))
    new = to_np(layer(new_target, new_source, **masks))
    np.testing.assert_allclose(
        out[DEC_PADDING], new[DEC_PADDING], atol=1e-6, rtol=0
    )
    assert np.max(np.abs(out[~DEC_PADDING] - new[~DEC_PADDING])) > 1e-2


def test_future_positions_never_change_earlier_outputs():
    rng = np.random.default_rng(8)
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    layer.build(DEC_SHAPE, ENC_SHAPE)
    randomize(rng, layer)
    target = random_array(rng, DEC_SHAPE)
    source = random_array(rng, ENC_SHAPE)
    changed = target.copy()
    changed[:, 3:] = random_array(rng, (BATCH, TARGET - 3, HIDDEN), 10.0)
    out = to_np(layer(target, source))
    new = to_np(layer(changed, source))
    np.testing.assert_allclose(out[:, :3], new[:, :3], atol=1e-6, rtol=0)
    assert np.max(np.abs(out[:, 3:] - new[:, 3:])) > 1e-2


def test_fully_padded_source_gives_zero_cross_attention():
    rng = np.random.default_rng(9)
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    layer.build(DEC_SHAPE, ENC_SHAPE)
    randomize(rng, layer)
    target = random_array(rng, DEC_SHAPE)
    source = random_array(rng, ENC_SHAPE)
    no_source = np.array([[1] * SOURCE, [0] * SOURCE], bool)
    for training in (False, True):
        out, self_scores, cross_scores = layer(
            target,
            source,
            encoder_padding_mask=no_source,
            return_attention_scores=True,
            training=training,
        )
        assert np.all(to_np(cross_scores)[1] == 0.0)
        assert np.all(np.isfinite(to_np(out)))
    # With nothing to attend to, the cross-attention adds only its output
    # bias: row 1 is the same whatever the source holds.
    other = random_array(rng, ENC_SHAPE, 5.0)
    a = to_np(layer(target, source, encoder_padding_mask=no_source))
    b = to_np(layer(target, other, encoder_padding_mask=no_source))
    np.testing.assert_allclose(a[1], b[1], atol=1e-6, rtol=0)
    assert np.max(np.abs(a[0] - b[0])) > 1e-3


def test_float16_long_sequences_stay_finite():
    rng = np.random.default_rng(10)
    layer = TransformerDecoder(32, HEADS, dtype="mixed_float16")
    target = random_array(rng, (2, 384, 16), 100.0)
    source = random_array(rng, (2, 512, 16), 100.0)
    source_mask = np.ones((2, 512), bool)
    source_mask[1] = False
    out = layer(target, source, encoder_padding_mask=source_mask)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert np.all(np.isfinite(to_np(ops.cast(out, "float32"))))


# --- attention scores ---------------------------------------------------------


def test_attention_scores_shapes_and_causality():
    rng = np.random.default_rng(11)
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    target = random_array(rng, DEC_SHAPE)
    source = random_array(rng, ENC_SHAPE)
    out, self_scores, cross_scores = layer(
        target,
        source,
        encoder_padding_mask=ENC_PADDING,
        return_attention_scores=True,
    )
    assert tuple(self_scores.shape) == (BATCH, HEADS, TARGET, TARGET)
    assert tuple(cross_scores.shape) == (BATCH, HEADS, TARGET, SOURCE)
    self_scores, cross_scores = to_np(self_scores), to_np(cross_scores)
    future = np.triu(np.ones((TARGET, TARGET), bool), k=1)
    assert np.all(self_scores[..., future] == 0.0)
    assert np.all(cross_scores[1, ..., 2:] == 0.0)
    np.testing.assert_allclose(self_scores.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(cross_scores.sum(-1), 1.0, atol=1e-6)
    plain = layer(target, source, encoder_padding_mask=ENC_PADDING)
    assert max_diff(out, plain) <= 1e-5


def test_config_round_trip_gives_same_outputs():
    rng = np.random.default_rng(12)
    layer = TransformerDecoder(
        INTERMEDIATE, HEADS, activation="gelu", normalize_first=True
    )
    layer.build(DEC_SHAPE, ENC_SHAPE)
    randomize(rng, layer)
    restored = TransformerDecoder.from_config(
        json.loads(json.dumps(layer.get_config()))
    )
    restored.build(DEC_SHAPE, ENC_SHAPE)
    restored.set_weights(layer.get_weights())
    target = random_array(rng, DEC_SHAPE)
    source = random_array(rng, ENC_SHAPE)
    assert max_diff(restored(target, source), layer(target, source)) == 0.0


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 8), (2, 3, 5, 8)], ids=["r2", "r4"])
def test_wrong_decoder_rank_raises(shape):
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    expected = re.escape(str(shape))
    with pytest.raises(ValueError, match=f"rank 3.*received shape {expected}"):
        layer(np.zeros(shape, "float32"))


def test_wrong_encoder_rank_raises():
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    with pytest.raises(ValueError, match=r"encoder_sequence.*\(2, 7\)"):
        layer(np.zeros(DEC_SHAPE, "float32"), np.zeros((2, 7), "float32"))


def test_hidden_not_divisible_by_heads_raises():
    layer = TransformerDecoder(INTERMEDIATE, num_heads=3)
    with pytest.raises(ValueError, match=r"num_heads=3.*\(2, 5, 8\)"):
        layer(np.zeros(DEC_SHAPE, "float32"))


def test_encoder_sequence_must_match_how_it_was_built():
    with_cross = TransformerDecoder(INTERMEDIATE, HEADS)
    with_cross.build(DEC_SHAPE, ENC_SHAPE)
    with pytest.raises(ValueError, match="needs an `encoder_sequence`"):
        with_cross(np.zeros(DEC_SHAPE, "float32"))
    without = TransformerDecoder(INTERMEDIATE, HEADS)
    without.build(DEC_SHAPE)
    with pytest.raises(ValueError, match=r"without cross-attention.*\(2, 7"):
        without(np.zeros(DEC_SHAPE, "float32"), np.zeros(ENC_SHAPE, "float32"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"decoder_padding_mask": np.ones((2, 4), bool)},
            r"`padding_mask` of shape \(2, 4\) does not broadcast",
        ),
        (
            {"encoder_padding_mask": np.ones((2, 6), bool)},
            r"`padding_mask` of shape \(2, 6\) does not broadcast",
        ),
        (
            {"encoder_attention_mask": np.ones((2, 5, 6), bool)},
            r"`attention_mask` of shape \(2, 5, 6\) does not broadcast",
        ),
    ],
    ids=["decoder_padding", "encoder_padding", "encoder_attention"],
)
def test_bad_mask_shape_raises(kwargs, message):
    layer = TransformerDecoder(INTERMEDIATE, HEADS)
    layer.build(DEC_SHAPE, ENC_SHAPE)
    with pytest.raises(ValueError, match=message):
        layer(
            np.zeros(DEC_SHAPE, "float32"),
            np.zeros(ENC_SHAPE, "float32"),
            **kwargs,
        )
