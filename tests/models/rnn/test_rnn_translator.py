"""The RNN translator with additive attention (Bahdanau et al., 2015).

The attention step and the GRU step are checked against NumPy written
from the paper's formulas (appendix A); the rest against the model's own
whole pass (teacher forcing) and against LiteRT.
"""

import functools

import keras
import numpy as np
import pytest
import tiny_models

from keras_attn import models
from keras_attn.models.rnn import AdditiveAttentionDecoder
from keras_attn.models.rnn import RNNTranslatorParts
from keras_attn.models.rnn import attention_weights
from keras_attn.models.translator import decoding

PAD, START, END = 0, 1, 2
VOCAB = 16  # 0 padding, 1 start, 2 end, 3..15 symbols
TINY = {
    "embedding_dim": 8,
    "encoder_units": 8,
    "decoder_units": 16,
    "attention_dim": 16,
    "maxout_units": 8,
}


def tiny(**overrides):
    return models.rnn_translator(
        vocabulary_size=VOCAB, **{**TINY, "dropout": 0.0, **overrides}
    )


reversal_batch = functools.partial(
    tiny_models.reversal_batch, vocabulary=VOCAB, max_symbols=5
)


def spread(model, seed):
    """Every weight N(0, 0.5): outputs that move with every weight."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(0, 0.5, weight.shape).astype("float32"))


@pytest.fixture(scope="module")
def spread_model():
    """A tiny translator with spread random weights: varied decodings
    (the decoders are tested for what they compute, not for quality)."""
    model = models.rnn_translator(
        "rnn_translator_tiny", vocabulary_size=VOCAB, dropout=0.0
    )
    spread(model, 6)
    return model


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_attention_and_gru_step_follow_the_paper():
    keras.utils.set_random_seed(1)
    decoder = AdditiveAttentionDecoder(units=6, attention_dim=5)
    rng = np.random.default_rng(0)
    batch, length, emb, width = 2, 4, 3, 8
    annotations = rng.normal(size=(batch, length, width)).astype("float32")
    embedded = rng.normal(size=(batch, emb)).astype("float32")
    state = rng.normal(size=(batch, 6)).astype("float32")
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    decoder.build((batch, 1, emb), annotations.shape)
    for weight in decoder.weights:  # biases too, so that each is checked
        weight.assign(rng.normal(0, 0.5, weight.shape).astype("float32"))
    cache, first = decoder.start(annotations)
    got_state, got_context, got_alpha = decoder.step(
        embedded, state, annotations, mask, cache, return_weights=True
    )

    a, cell = decoder.attention, decoder.cell
    # One head: kernels (in, 1, out) and biases (1, out).
    w_q, b_q = np.asarray(a.query_kernel)[:, 0], np.asarray(a.query_bias)[0]
    w_k, b_k = np.asarray(a.key_kernel)[:, 0], np.asarray(a.key_bias)[0]
    w_v, b_v = np.asarray(a.value_kernel)[:, 0], np.asarray(a.value_bias)[0]
    w_o, b_o = np.asarray(a.output_kernel)[0], np.asarray(a.output_bias)
    v = np.asarray(a.score_vector)[0]
    # e_ij = v^T tanh(W s_{i-1} + U h_j), alpha = softmax over the source.
    scores = (
        np.tanh((state @ w_q + b_q)[:, None, :] + annotations @ w_k + b_k) @ v
    )  # (B, S)
    scores = np.where(mask, scores, -np.inf)
    alpha = np.exp(scores - scores.max(-1, keepdims=True))
    alpha /= alpha.sum(-1, keepdims=True)
    np.testing.assert_allclose(got_alpha, alpha, atol=1e-5)
    # c_i = sum_j alpha_ij h_j, through the layer's value and output
    # projections (a linear map; the weights sum to one, so the biases
    # pass through once).
    raw = np.einsum("bs,bsc->bc", alpha, annotations)
    context = (raw @ w_v + b_v) @ w_o + b_o
    np.testing.assert_allclose(got_context, context, atol=1e-5)
    # s_i from [E y_{i-1}; c_i] (appendix A.2.2, reset gate inside), with
    # Keras's update gate z' = 1 - z: s_i = z' s_{i-1} + (1 - z') s~_i.
    x = np.concatenate([embedded, context], -1)
    kernel = np.asarray(cell.kernel)
    recurrent = np.asarray(cell.recurrent_kernel)
    bias = np.asarray(cell.bias)
    z_k, r_k, h_k = np.split(kernel, 3, axis=1)
    z_u, r_u, h_u = np.split(recurrent, 3, axis=1)
    z_b, r_b, h_b = np.split(bias, 3)
    z = 1.0 - sigmoid(x @ z_k + state @ z_u + z_b)  # the paper's z_i
    r = sigmoid(x @ r_k + state @ r_u + r_b)
    proposal = np.tanh(x @ h_k + (r * state) @ h_u + h_b)
    want = (1.0 - z) * state + z * proposal
    np.testing.assert_allclose(got_state, want, atol=1e-5)
    # s_0 = tanh(W_s <-h_1): the backward half of the first annotation.
    w_s, b_s = (np.asarray(w) for w in decoder.initial_state.weights)
    want_first = np.tanh(annotations[:, 0, width // 2 :] @ w_s + b_s)
    np.testing.assert_allclose(first, want_first, atol=1e-5)


def test_step_by_step_logits_equal_the_teacher_forced_pass():
    model = tiny()
    spread(model, 2)
    source = np.array([[5, 6, 7, 8], [9, 4, 0, 0]], "int32")
    target = np.array([[START, 3, 4, 5, 6], [START, 7, 7, 0, 0]], "int32")
    whole = np.asarray(
        model({"encoder_token_ids": source, "decoder_token_ids": target})
    )
    parts = RNNTranslatorParts(model)
    encoded, mask = parts.encode(source)
    cross = parts.cross_caches(encoded)
    cache = parts.empty_cache(2, target.shape[1])
    for index in range(target.shape[1]):
        logits, cache = parts.decode_step(
            target[:, index : index + 1], index, encoded, mask, cache, cross
        )
        np.testing.assert_allclose(logits, whole[:, index], atol=1e-4)
    assert np.abs(whole).max() > 1.0  # the weights are not trivially small


def test_source_padding_changes_nothing():
    model = tiny()
    spread(model, 3)
    target = np.array([[START, 3, 4]], "int32")

    def run(source):
        return np.asarray(
            model(
                {
                    "encoder_token_ids": np.array([source], "int32"),
                    "decoder_token_ids": target,
                }
            )
        )

    short = run([5, 6, 7])
    np.testing.assert_allclose(run([5, 6, 7, 0, 0, 0]), short, atol=1e-5)
    assert np.abs(run([5, 6, 8]) - short).max() > 1e-3  # tokens do count
    weights = attention_weights(
        model, np.array([[5, 6, 7, 0, 0]], "int32"), target
    )
    assert np.all(weights[..., 3:] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


def test_fit_lowers_the_loss_on_a_copy_task():
    keras.utils.set_random_seed(0)
    model = models.rnn_translator(
        "rnn_translator_tiny", vocabulary_size=VOCAB, dropout=0.0
    )
    # Eager: a dozen steps cost less than tracing the scan's gradient.
    model.compile(
        keras.optimizers.Adam(2e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=True,
    )
    inputs, labels, weights = reversal_batch(
        np.random.default_rng(0), 192, copy=True
    )
    history = model.fit(
        inputs,
        labels,
        sample_weight=weights,
        batch_size=32,
        epochs=2,
        verbose=0,
    )
    losses = history.history["loss"]
    assert losses[-1] < 0.9 * losses[0]


def test_greedy_and_beam_decoding(spread_model):
    model = spread_model
    inputs, _, _ = reversal_batch(np.random.default_rng(3), 8)
    source = inputs["encoder_token_ids"]
    # The cached step equals the whole pass (tested on logits above).
    cached = np.asarray(decoding.greedy_decode(model, source, 7, START, END))
    one_beam = decoding.beam_search(
        model, source, 7, START, END, beam_size=1, length_penalty_alpha=0.0
    )
    np.testing.assert_array_equal(np.asarray(one_beam), cached)
    beams = np.asarray(
        decoding.beam_search(
            model, source, 7, START, END, beam_size=3, length_penalty_alpha=0.0
        )
    )

    def log_prob(tokens):
        """Sum of log-probabilities of `tokens` (up to END) by the model."""
        decoder_input = np.concatenate(
            [np.full((len(tokens), 1), START), tokens[:, :-1]], 1
        ).astype("int32")
        logits = np.asarray(
            model(
                {
                    "encoder_token_ids": source,
                    "decoder_token_ids": decoder_input,
                }
            ),
            "float64",
        )
        logits[..., [PAD, START]] = -np.inf
        logits -= logits.max(-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        picked = np.take_along_axis(logp, tokens[..., None], -1)[..., 0]
        return np.where(tokens != PAD, picked, 0.0).sum(1)

    assert np.all(log_prob(beams) >= log_prob(cached) - 1e-4)


@pytest.fixture(scope="module")
def text_translator():
    keras.utils.set_random_seed(4)
    sentences = ["one two three", "un deux trois", "four five", "quatre cinq"]
    tokenizer = models.train_translation_tokenizer(
        sentences * 10, vocabulary_size=26
    )
    model = models.rnn_translator(
        "rnn_translator_tiny", vocabulary_size=26, dropout=0.0
    )
    spread(model, 5)  # varied translations without training
    return models.Translator(
        model, tokenizer, max_source_length=16, max_target_length=6
    )


def test_translator_translates_saves_and_loads(text_translator, tmp_path):
    sentences = ["one two three", "four five", "five"]
    greedy = text_translator.translate(sentences)
    beam = text_translator.translate(sentences, beam_size=2)
    assert len(greedy) == len(beam) == 3
    assert all(isinstance(text, str) for text in greedy + beam)
    text_translator.save(tmp_path / "rnn")
    loaded = models.Translator.load(tmp_path / "rnn")
    assert isinstance(loaded.model, models.RNNTranslator)
    assert loaded.translate(sentences) == greedy
    assert loaded.translate(sentences, beam_size=2) == beam
    ids = np.array([[5, 6, 0], [7, 0, 0]], "int32")
    inputs = {"encoder_token_ids": ids, "decoder_token_ids": ids}
    np.testing.assert_array_equal(
        np.asarray(loaded.model(inputs)),
        np.asarray(text_translator.model(inputs)),
    )


def test_alignment_of_a_translation(text_translator):
    from keras_attn.models.rnn import translation_alignment

    source, target, weights = translation_alignment(
        text_translator, "one two three"
    )
    assert weights.shape == (len(target), len(source))
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    tokenizer = text_translator.source_tokenizer
    assert "".join(source).replace("\u2581", " ").strip() == "one two three"
    assert len(source) == len(tokenizer.tokenize("one two three"))


def test_alignment_drawing(text_translator, tmp_path):
    pytest.importorskip("matplotlib")
    from keras_attn.models.rnn import draw_alignment

    path = tmp_path / "alignment.png"
    source, target, weights = draw_alignment(text_translator, "four five", path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert weights.shape == (len(target), len(source))
    with pytest.raises(TypeError, match="one str"):
        draw_alignment(text_translator, ["four five"], path)


@pytest.mark.slow  # a conversion: about 10 s on 2 cores
def test_on_device_greedy_loop_equals_keras(spread_model, tmp_path):
    from keras_attn.export import translator_to_tflite

    model = spread_model
    # Any tokenizer of VOCAB pieces: the file takes ids.
    tokenizer = models.train_translation_tokenizer(
        ["abcdefghijk"] * 4, vocabulary_size=VOCAB
    )
    translator = models.Translator(
        model, tokenizer, max_source_length=5, max_target_length=6
    )
    path = tmp_path / "rnn.tflite"
    report = translator_to_tflite(
        translator, path, num_samples=6, measure_latency=False
    )
    assert "WHILE" in report.ops and report.non_builtin_ops == {}
    # Greedy tokens from LiteRT equal Keras's on every sample.
    assert report.max_abs_diff == {"tokens": 0.0}


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        ({"encoder_units": 0}, ValueError, "`encoder_units` must be a"),
        ({"target_vocabulary_size": 9}, ValueError, "needs one vocabulary"),
        ({"hidden_dim": 8}, ValueError, "Unknown rnn_translator config"),
        ({"dropout": 1.0}, ValueError, "`dropout` must be a float"),
    ],
)
def test_bad_configs_say_what_was_expected(overrides, error, message):
    with pytest.raises(error, match=message):
        models.rnn_translator(
            "rnn_translator_tiny", vocabulary_size=16, **overrides
        )


def test_bad_inputs_say_what_was_expected():
    with pytest.raises(ValueError, match="Unknown rnn_translator preset"):
        models.rnn_translator("rnn_translator_huge", vocabulary_size=16)
    transformer = models.transformer_translator(
        "translator_tiny", vocabulary_size=16
    )
    with pytest.raises(ValueError, match="Expected a model from"):
        RNNTranslatorParts(transformer)
    with pytest.raises(ValueError, match="size must be even"):
        AdditiveAttentionDecoder(4, 4)(
            np.zeros((1, 2, 3), "float32"), np.zeros((1, 2, 5), "float32")
        )
    with pytest.raises(ValueError, match="`units` must be a positive int"):
        AdditiveAttentionDecoder(0, 4)


def test_the_translator_job_builds_an_rnn_for_its_presets():
    # `keras-attn train translator --preset rnn_translator_tiny`.
    from keras_attn.apps.jobs import translator as job

    words = "one two three four five six".split()
    pairs = [(f"{a} {b}", f"{b} {a}") for a in words for b in words]
    translator, build = job._new_translator(
        pairs, "rnn_translator_tiny", 20, 8, 0
    )
    assert isinstance(translator.model, models.RNNTranslator)
    assert isinstance(build(), models.RNNTranslator)
    assert isinstance(translator.translate(["one two"])[0], str)
