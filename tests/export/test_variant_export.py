"""The attention variants (issue 30) in exported files: each scoring
function, local (`window`) attention and hard attention computed by the
lowered forms as the layer computes them, and a `.tflite` file of them
run by LiteRT's own interpreter.

The lowered forms are checked without converting (cheap): against the
layer's call and against the NumPy attention written from the papers'
formulas (`tests/variant_reference.py`). One float32 file holds every
variant; its outputs are compared with Keras and NumPy, its operators
with what the accelerators take (no MATRIX_BAND_PART, no gathers, rank
<= 4, builtin ops only).
"""

import collections
import types

import keras
import numpy as np
import pytest
import variant_reference as ref
from ai_edge_litert.interpreter import Interpreter
from attention_reference import padding
from attention_reference import random
from attention_reference import randomize

from keras_attn import layers
from keras_attn.export import _variant_forms
from keras_attn.export import lowering
from keras_attn.export import to_tflite

SCORES = ["scaled_dot", "dot", "general", "additive"]
TARGETS = ["float", "int8"]


def lowered(target, layer, *args, **kwargs):
    return lowering.Lowering(target).call(layer, *args, **kwargs)


def attention(query, value, **kwargs):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    layer(query, value)
    randomize(layer)
    return layer


def close(got, want, atol):
    np.testing.assert_allclose(
        np.asarray(got, "float64"), np.asarray(want, "float64"), atol=atol
    )


# --- lowered forms, no conversion ----------------------------------------


@pytest.mark.parametrize(
    "score, hard, target",
    [(score, hard, "float") for score in SCORES for hard in (None, "argmax")]
    + [(score, None, "int8") for score in SCORES]
    + [("additive", "argmax", "int8")],
)
def test_score_forms_match_the_layer_and_numpy(score, hard, target):
    query, value = random((3, 4, 6)), random((3, 5, 6))
    layer = attention(query, value, score=score, hard=hard)
    pad = padding(3, 5, [5, 2, 0])  # the last row attends to nothing
    got, probs = lowered(
        target,
        layer,
        query,
        value,
        padding_mask=pad,
        return_attention_scores=True,
    )
    close(got, layer(query, value, padding_mask=pad), 1e-5)
    want, want_probs = ref.attention(
        query,
        value,
        layer.get_weights(),
        score,
        np.repeat(pad[:, None], 4, 1),
        hard,
    )
    close(got, want, 2e-5)
    close(probs, want_probs, 0 if hard else 2e-6)


@pytest.mark.parametrize(
    "window, causal, target",
    [(2, causal, target) for causal in (False, True) for target in TARGETS]
    + [(3, causal, "float") for causal in (False, True)],
)
def test_window_forms_match_the_layer_and_numpy(window, causal, target):
    # Length 17 > 8 * 2: the layer computes window 2 in blocks (the last
    # one padded); window 3 with the dense band.
    length = 17
    x = random((2, length, 6))
    score = "additive" if window == 2 else "general"
    layer = attention(x, x, score=score, window=window)
    blocks = layer._blocks_apply(x[..., :3], x[..., :3], None, None, False)
    assert blocks == (window == 2)
    pad = padding(2, length, [length, 3])
    kwargs = {"padding_mask": pad, "use_causal_mask": causal}
    got = lowered(target, layer, x, x, **kwargs)
    close(got, layer(x, x, **kwargs), 1e-5)
    mask = ref.band(length, length, window, causal)[None] & pad[:, None]
    want, _ = ref.attention(x, x, layer.get_weights(), score, mask)
    close(got, want, 2e-5)


@pytest.mark.parametrize("target", TARGETS)
def test_encoder_form_passes_the_variant_on(target):
    block = layers.TransformerEncoder(
        intermediate_dim=12, num_heads=2, score="general", window=1
    )
    x = random((2, 9, 8))  # 9 > 8 * 1: in blocks
    block(x)
    randomize(block)
    pad = padding(2, 9, [9, 4])
    close(
        lowered(target, block, x, padding_mask=pad),
        block(x, padding_mask=pad),
        1e-5,
    )
    # Not the default's numbers: the variant really is computed.
    plain = layers.TransformerEncoder(intermediate_dim=12, num_heads=2)
    plain(x)
    mine = {w.path.split("/", 1)[1]: w for w in block.weights}
    for weight in plain.weights:
        weight.assign(mine[weight.path.split("/", 1)[1]])
    assert np.max(np.abs(plain(x) - block(x))) > 1e-2


@pytest.mark.parametrize("target", TARGETS)
def test_decoder_form_passes_the_variant_on(target):
    # The layer's own hard attention traces Keras's argmax, whose
    # BitwiseAnd is not a TFLite builtin: the decoder needs its form.
    block = layers.TransformerDecoder(
        intermediate_dim=12, num_heads=2, score="additive", window=2
    )
    x, encoded = random((2, 7, 8)), random((2, 5, 8))
    block(x, encoded)
    randomize(block)
    kwargs = {
        "decoder_padding_mask": padding(2, 7, [7, 3]),
        "encoder_padding_mask": padding(2, 5, [5, 0]),
        "return_attention_scores": True,
    }
    got = lowered(target, block, x, encoded, **kwargs)
    want = block(x, encoded, **kwargs)
    assert len(got) == len(want) == 3  # output, self and cross weights
    for got_part, want_part in zip(got, want, strict=True):
        close(got_part, want_part, 1e-5)


@pytest.mark.parametrize("window", [2, 5], ids=["blocks", "dense band"])
def test_forms_take_an_unknown_batch(window):
    # `to_tflite(..., batch_size=None)`: shapes with a None batch.
    import tensorflow as tf

    x, pad = random((2, 17, 8)), padding(2, 17, [17, 4])
    layer = layers.MultiHeadSelfAttention(
        num_heads=2, window=window, hard="argmax"
    )
    layer(x)
    randomize(layer)

    @tf.function(
        input_signature=[
            tf.TensorSpec((None, 17, 8)),
            tf.TensorSpec((None, 17), tf.bool),
        ],
        autograph=False,
    )
    def call(inputs, mask):
        return lowered("float", layer, inputs, padding_mask=mask)

    close(call(x, pad), layer(x, padding_mask=pad), 1e-5)


def test_hard_argmax_takes_the_first_best_allowed_key():
    # Ties, a masked key above every allowed one, a fully masked row.
    scores = np.float32(
        [[[[1.0, 3.0, 3.0, 0.0], [9.0, 2.0, 5.0, 5.0], [1.0, 2.0, 3.0, 4.0]]]]
    )  # (1, 1, 3, 4)
    keep = np.float32([[[[1, 1, 1, 1], [0, 1, 1, 1], [0, 0, 0, 0]]]])
    layer = types.SimpleNamespace(hard="argmax")
    got = _variant_forms.hard_weights(layer, scores, keep)
    want = ref.weights_from(scores, keep[:, 0] > 0, "argmax")
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        np.asarray(got)[0, 0], [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    )


def test_hard_sample_draws_follow_the_softmax_of_allowed_keys():
    logits = np.float32([0.0, 1.0, 2.0, -1.0, 5.0])
    keep = np.float32([1, 1, 1, 1, 0])  # the likeliest key is masked
    rows = 20000
    scores = np.broadcast_to(logits, (1, 1, rows, 5))
    layer = types.SimpleNamespace(hard="sample")
    draws = np.asarray(
        _variant_forms.hard_weights(layer, scores, keep[None, None, None])
    )
    assert set(np.unique(draws)) == {0.0, 1.0}
    np.testing.assert_array_equal(draws.sum(-1), 1.0)
    want = ref.weights_from(logits[None, None, None], keep[None, None] > 0)
    frequency = draws[0, 0].mean(0)
    assert frequency[4] == 0
    # 20,000 draws: a frequency's standard deviation is at most 0.0036.
    close(frequency, want[0, 0, 0], 0.02)


def test_full_int8_refuses_hard_sample_by_name():
    x = random((1, 4, 6))
    layer = attention(x, x, hard="sample", name="sampler")
    with pytest.raises(ValueError, match="'sampler'.*hard='sample'.*int8"):
        lowered("int8", layer, x, x)


# --- one float32 file ------------------------------------------------------

LENGTH = 25


def variant_model():
    keras.utils.set_random_seed(11)
    x = keras.Input((LENGTH, 8), name="x")
    mask = keras.Input((LENGTH,), name="padding_mask", dtype="int32")
    outputs = {
        # 25 > 8 * window: computed in blocks.
        "local": layers.MultiHeadSelfAttention(
            num_heads=2, score="additive", window=2, name="local"
        )(x, padding_mask=mask),
        "local_causal": layers.MultiHeadSelfAttention(
            num_heads=2, score="general", window=3, name="local_causal"
        )(x, use_causal_mask=True),
        "encoder": layers.TransformerEncoder(
            intermediate_dim=16, num_heads=2, score="dot", window=2
        )(x, padding_mask=mask),
        "decoder": layers.TransformerDecoder(
            intermediate_dim=16, num_heads=2, hard="argmax", window=2
        )(x, x, decoder_padding_mask=mask),
        # 25 <= 8 * 5: the dense band.
        "hard": layers.MultiHeadSelfAttention(
            num_heads=2, hard="argmax", window=5, name="hard"
        )(x, padding_mask=mask),
        "sampled": layers.MultiHeadSelfAttention(
            num_heads=2, hard="sample", name="sampled"
        )(x, use_causal_mask=True, return_attention_scores=True)[1],
    }
    model = keras.Model({"x": x, "padding_mask": mask}, outputs)
    for weight in model.weights:
        scale = 0.05 if "sampled" in weight.path else 0.5  # near-even draws
        weight.assign(random(weight.shape, scale))
    return model


def batch(real, seed):
    return {
        "x": np.random.default_rng(seed)
        .standard_normal((1, LENGTH, 8))
        .astype("float32"),
        "padding_mask": (np.arange(LENGTH)[None] < real).astype("int32"),
    }


@pytest.fixture(scope="module")
def variant_file(tmp_path_factory):
    model = variant_model()
    path = tmp_path_factory.mktemp("variants") / "variants.tflite"
    report = to_tflite(
        model,
        path,
        sample_data=[batch(9, 0)],
        num_samples=1,
        measure_latency=False,
    )
    return model, path, report


def test_variant_file_equals_keras_and_numpy(variant_file):
    model, path, _ = variant_file
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    for inputs in (batch(9, 1), batch(0, 2)):  # 0: every key masked
        got = runner(**inputs)
        want = model(inputs)
        for name in ("local", "local_causal", "encoder", "decoder", "hard"):
            close(got[name], want[name], 1e-5)
        pad = inputs["padding_mask"] > 0
        x = inputs["x"]
        for name, score, window, causal, hard in (
            ("local", "additive", 2, False, None),
            ("local_causal", "general", 3, True, None),
            ("hard", "scaled_dot", 5, False, "argmax"),
        ):
            mask = ref.band(LENGTH, LENGTH, window, causal)[None]
            if name != "local_causal":
                mask = mask & pad[:, None]
            weights = model.get_layer(name).get_weights()
            expected, _ = ref.attention(x, x, weights, score, mask, hard)
            close(got[name], expected, 2e-5)


def test_variant_file_samples_one_allowed_key_per_row(variant_file):
    _, path, _ = variant_file
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    # Causal: row t may take keys 0..t (masked keys and fully masked rows
    # in the same code are checked above, without a file).
    inputs = batch(7, 3)
    draws = np.stack([runner(**inputs)["sampled"] for _ in range(4)])
    assert draws.shape == (4, 1, 2, LENGTH, LENGTH)
    assert set(np.unique(draws)) == {0.0, 1.0}
    np.testing.assert_array_equal(draws.sum(-1), 1.0)  # one key a row
    later = ~ref.band(LENGTH, LENGTH, LENGTH, causal=True)
    assert not draws[..., later].any()  # never a masked key
    assert len({d.tobytes() for d in draws}) > 1  # new draws each call


def test_variant_file_has_accelerator_friendly_builtin_ops(variant_file):
    _, path, report = variant_file
    interpreter = Interpreter(model_path=str(path))
    ops = collections.Counter(
        op["op_name"] for op in interpreter._get_ops_details()
    )
    assert report.non_builtin_ops == {}
    assert not {"MATRIX_BAND_PART", "GATHER", "GATHER_ND", "SELECT_V2"} & set(
        ops
    ), ops
    assert {"RANDOM_UNIFORM", "TANH", "GREATER_EQUAL"} <= set(ops), ops
    ranks = {len(t["shape"]) for t in interpreter.get_tensor_details()}
    assert max(ranks) <= 4, ranks
