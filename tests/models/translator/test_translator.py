"""The Transformer translator, its decoders and the text-level Translator."""

import functools
import itertools

import keras
import numpy as np
import pytest
import tiny_models

from keras_attn import models
from keras_attn.models.translator import TranslatorParts
from keras_attn.models.translator import text

PAD, START, END = 0, 1, 2
VOCAB = 16  # 0 padding, 1 start, 2 end, 3..15 symbols


reversal_batch = functools.partial(
    tiny_models.reversal_batch, vocabulary=VOCAB, max_symbols=6
)


@pytest.fixture(scope="module")
def trained():
    """A tiny translator trained to reverse sequences."""
    keras.utils.set_random_seed(0)
    model = models.transformer_translator(
        "translator_tiny", vocabulary_size=VOCAB, dropout=0.0
    )
    model.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    inputs, labels, weights = reversal_batch(np.random.default_rng(0), 4096)
    model.fit(
        inputs,
        labels,
        sample_weight=weights,
        batch_size=64,
        epochs=5,
        verbose=0,
    )
    return model


def greedy_reference(model, source, max_length):
    """Greedy decoding the slow way: the public model on the whole prefix."""
    tokens = np.zeros((len(source), max_length + 1), "int32")
    tokens[:, 0] = START
    done = np.zeros(len(source), bool)
    for index in range(max_length):
        logits = np.asarray(
            model({"encoder_token_ids": source, "decoder_token_ids": tokens})
        )[:, index].astype("float64")
        logits[:, [PAD, START]] = -np.inf
        following = np.where(done, PAD, logits.argmax(-1))
        tokens[:, index + 1] = following
        done |= following == END
        if done.all():
            break
    return tokens[:, 1:]


def test_presets_and_options_build():
    shared = models.transformer_translator(
        "translator_tiny", vocabulary_size=50
    )
    separate = models.transformer_translator(
        "translator_tiny",
        vocabulary_size=50,
        target_vocabulary_size=60,
        share_embeddings=False,
        tie_output=False,
    )
    names = {layer.name for layer in separate.layers}
    assert {"source_token_embedding", "target_token_embedding", "logits"} <= (
        names
    )
    # Sharing removes one 50x64 table; tying removes the 64x60 (+60) dense.
    difference = separate.count_params() - shared.count_params()
    assert difference == 60 * 64 + (64 * 60 + 60)
    pre_norm = models.transformer_translator(
        "translator_tiny",
        vocabulary_size=50,
        positional="learned",
        normalize_first=True,
    )
    names = {layer.name for layer in pre_norm.layers}
    assert {"encoder_final_norm", "decoder_final_norm"} <= names
    ids = np.array([[5, 6, 0]], "int32")
    out = pre_norm({"encoder_token_ids": ids, "decoder_token_ids": ids})
    assert tuple(out.shape) == (1, 3, 50)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"positional": "rotary"}, "'sinusoidal' or 'learned'"),
        ({"target_vocabulary_size": 70}, "needs one vocabulary"),
        ({"num_layer": 2}, "Unknown translator configuration keys"),
    ],
)
def test_bad_configs_say_what_was_expected(overrides, message):
    with pytest.raises(ValueError, match=message):
        models.translator_config(
            "translator_tiny", vocabulary_size=50, **overrides
        )


def test_tied_output_is_the_transposed_token_table():
    model = models.transformer_translator(
        "translator_tiny", vocabulary_size=30, dropout=0.0
    )
    table = model.get_layer("token_embedding").embeddings
    # One variable serves the encoder, the decoder and the output layer.
    assert sum(w is table for w in model.trainable_weights) == 1
    ids = np.array([[5, 6, 7]], "int32")
    inputs = {"encoder_token_ids": ids, "decoder_token_ids": ids}
    before = np.asarray(model(inputs))
    table.assign(np.asarray(table) * 1.5)
    assert np.abs(np.asarray(model(inputs)) - before).max() > 1e-3


def test_decoder_is_causal_and_ignores_source_padding():
    model = models.transformer_translator(
        "translator_tiny", vocabulary_size=30, dropout=0.0
    )
    source = np.array([[5, 6, 7, 0, 0]], "int32")
    target = np.array([[1, 8, 9, 10]], "int32")
    base = np.asarray(
        model({"encoder_token_ids": source, "decoder_token_ids": target})
    )
    later = target.copy()
    later[0, 3] = 20
    changed = np.asarray(
        model({"encoder_token_ids": source, "decoder_token_ids": later})
    )
    np.testing.assert_allclose(changed[:, :3], base[:, :3], atol=1e-6)
    assert np.abs(changed[:, 3] - base[:, 3]).max() > 1e-4
    shorter = np.asarray(
        model({"encoder_token_ids": source[:, :3], "decoder_token_ids": target})
    )
    np.testing.assert_allclose(shorter, base, atol=1e-5)


def test_trained_model_reverses_unseen_sequences(trained):
    inputs, labels, _ = reversal_batch(np.random.default_rng(1), 200)
    tokens = np.asarray(
        models.greedy_decode(
            trained, inputs["encoder_token_ids"], 8, START, END
        )
    )
    expected = np.zeros_like(tokens)
    expected[:, : labels.shape[1]] = labels
    exact = (tokens == expected).all(axis=1).mean()
    assert exact >= 0.9, exact


def test_cached_greedy_equals_uncached_and_the_model(trained):
    inputs, _, _ = reversal_batch(np.random.default_rng(2), 32)
    source = inputs["encoder_token_ids"]
    cached = np.asarray(models.greedy_decode(trained, source, 9, START, END))
    uncached = np.asarray(
        models.greedy_decode(trained, source, 9, START, END, use_cache=False)
    )
    np.testing.assert_array_equal(cached, uncached)
    np.testing.assert_array_equal(cached, greedy_reference(trained, source, 9))
    # Every row ended, and only padding follows the end token.
    for row in cached:
        end = list(row).index(END)
        assert (row[end + 1 :] == PAD).all()


def test_cached_beam_search_equals_uncached(trained):
    inputs, _, _ = reversal_batch(np.random.default_rng(3), 16)
    source = inputs["encoder_token_ids"]
    cached = models.beam_search(trained, source, 9, START, END, beam_size=3)
    uncached = models.beam_search(
        trained, source, 9, START, END, beam_size=3, use_cache=False
    )
    np.testing.assert_array_equal(np.asarray(cached), np.asarray(uncached))


def test_beam_of_one_is_greedy(trained):
    inputs, _, _ = reversal_batch(np.random.default_rng(4), 16)
    source = inputs["encoder_token_ids"]
    beam = models.beam_search(trained, source, 9, START, END, beam_size=1)
    greedy = models.greedy_decode(trained, source, 9, START, END)
    np.testing.assert_array_equal(np.asarray(beam), np.asarray(greedy))


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_xla_compiled_decoding_gives_the_same_tokens(trained, method):
    inputs, _, _ = reversal_batch(np.random.default_rng(5), 8)
    source = inputs["encoder_token_ids"]
    if method == "greedy":
        run = lambda **kw: models.greedy_decode(  # noqa: E731
            trained, source, 9, START, END, **kw
        )
    else:
        run = lambda **kw: models.beam_search(  # noqa: E731
            trained, source, 9, START, END, beam_size=3, **kw
        )
    np.testing.assert_array_equal(
        np.asarray(run(jit_compile=True)), np.asarray(run())
    )


def test_decoding_stops_when_every_sequence_has_ended(trained, monkeypatch):
    steps = []
    original = TranslatorParts.decode_step

    def counting(self, *args, **kwargs):
        steps.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TranslatorParts, "decode_step", counting)
    source = np.array([[5, 6, 0, 0, 0, 0]], "int32")  # output: 6 5 END
    tokens = np.asarray(models.greedy_decode(trained, source, 30, START, END))
    assert list(tokens[0, :3]) == [6, 5, END]
    assert len(steps) == 3
    assert (tokens[0, 3:] == PAD).all() and tokens.shape == (1, 30)


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_wide_beam_finds_the_exhaustive_best(alpha):
    # With 40 beams nothing is ever pruned for a 6-token vocabulary and 3
    # steps, so beam search must return the best of all hypotheses, scored
    # here from the public model by brute force.
    keras.utils.set_random_seed(7)
    vocab, steps = 6, 3
    model = models.transformer_translator(
        "translator_tiny", vocabulary_size=vocab, dropout=0.0
    )
    source = np.array([[3, 4, 5, 4]], "int32")
    allowed = [END, 3, 4, 5]
    hypotheses = []
    for n in range(1, steps + 1):
        for body in itertools.product([3, 4, 5], repeat=n - 1):
            hypotheses.append(list(body) + [END])
    hypotheses += [list(h) for h in itertools.product([3, 4, 5], repeat=steps)]
    best, best_rank = None, -np.inf
    for hypothesis in hypotheses:
        target = np.array([[START] + hypothesis], "int32")
        logits = np.asarray(
            model({"encoder_token_ids": source, "decoder_token_ids": target})
        )[0].astype("float64")
        score = 0.0
        for index, token in enumerate(hypothesis):
            row = logits[index, allowed]
            log_z = np.log(np.exp(row - row.max()).sum()) + row.max()
            score += logits[index, token] - log_z
        rank = score / ((5 + len(hypothesis)) / 6) ** alpha
        if rank > best_rank:
            best, best_rank = hypothesis, rank
    tokens = np.asarray(
        models.beam_search(
            model,
            source,
            steps,
            START,
            END,
            beam_size=40,
            length_penalty_alpha=alpha,
        )
    )[0]
    assert list(tokens[: len(best)]) == best
    assert (tokens[len(best) :] == PAD).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_length": 0}, "`max_length` must be a positive int"),
        ({"start_id": 0}, r"`start_id` must be an int in \[1, 16\)"),
        ({"end_id": 16}, r"`end_id` must be an int in \[1, 16\)"),
    ],
)
def test_decoder_arguments_are_checked(trained, kwargs, message):
    arguments = {"max_length": 5, "start_id": START, "end_id": END}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        models.greedy_decode(trained, np.array([[4, 5]], "int32"), **arguments)


def test_decoders_refuse_other_models():
    other = models.bert_backbone("bert_tiny", vocabulary_size=20)
    with pytest.raises(ValueError, match="transformer_translator"):
        models.greedy_decode(other, np.array([[4, 5]], "int32"), 5, 1, 2)


def test_keras_round_trip_keeps_logits_and_decoding(trained, tmp_path):
    path = tmp_path / "translator.keras"
    trained.save(path)
    loaded = keras.saving.load_model(path)
    inputs, _, _ = reversal_batch(np.random.default_rng(6), 8)
    np.testing.assert_allclose(
        np.asarray(loaded(inputs)), np.asarray(trained(inputs)), atol=1e-6
    )
    source = inputs["encoder_token_ids"]
    np.testing.assert_array_equal(
        np.asarray(models.greedy_decode(loaded, source, 9, START, END)),
        np.asarray(models.greedy_decode(trained, source, 9, START, END)),
    )


NUMBERS_EN = "one two three four five six seven eight nine ten".split()
NUMBERS_FR = "un deux trois quatre cinq six sept huit neuf dix".split()


def number_pairs(rng, size):
    pairs = []
    for _ in range(size):
        picks = rng.integers(0, 10, rng.integers(1, 5))
        pairs.append(
            (
                " ".join(NUMBERS_EN[i] for i in picks),
                " ".join(NUMBERS_FR[i] for i in picks),
            )
        )
    return pairs


@pytest.fixture(scope="module")
def text_translator():
    """A Translator with a SentencePiece vocabulary, trained on numbers."""
    keras.utils.set_random_seed(0)
    pairs = number_pairs(np.random.default_rng(0), 2000)
    tokenizer = models.train_translation_tokenizer(
        [s for pair in pairs for s in pair], vocabulary_size=40
    )
    model = models.transformer_translator(
        "translator_tiny", vocabulary_size=40, dropout=0.0
    )
    translator = models.Translator(
        model, tokenizer, max_source_length=16, max_target_length=16
    )
    model.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(
        translator.dataset(pairs, batch_size=32),
        # 4 epochs gave 39-45 of 50 depending on thread timing; 6 leave
        # the bar of 40 a margin.
        epochs=6,
        shuffle=False,
        verbose=0,
    )
    return translator


def test_preprocess_shifts_the_target_by_one(text_translator):
    inputs, labels, weights = text_translator.preprocess(
        np.array(["one two"]), np.array(["un deux"])
    )
    decoder = np.asarray(inputs["decoder_token_ids"])[0]
    labels = np.asarray(labels)[0]
    assert decoder[0] == text.START_ID
    np.testing.assert_array_equal(decoder[1:], labels[:-1])
    end = list(labels).index(text.END_ID)
    np.testing.assert_array_equal(np.asarray(weights)[0], labels != 0)
    pieces = text_translator.target_tokenizer.detokenize(labels[:end])
    assert text._to_str(pieces) == "un deux"


def test_translator_translates_and_survives_save_and_load(
    text_translator, tmp_path
):
    pairs = number_pairs(np.random.default_rng(1), 50)
    sources = [source for source, _ in pairs]
    greedy = text_translator.translate(sources)
    correct = sum(
        out == ref for out, (_, ref) in zip(greedy, pairs, strict=True)
    )
    print(f"{correct} of 50 translated exactly")
    assert correct >= 40, list(zip(greedy, pairs, strict=True))[:5]
    text_translator.save(tmp_path / "saved")
    loaded = models.Translator.load(tmp_path / "saved")
    assert loaded.translate(sources) == greedy
    assert loaded.translate(sources[0], beam_size=3) == (
        text_translator.translate(sources[0], beam_size=3)
    )


def test_translator_checks_vocabulary_and_files(text_translator, tmp_path):
    other = models.transformer_translator("translator_tiny", vocabulary_size=41)
    with pytest.raises(ValueError, match="has 40 pieces but the model's"):
        models.Translator(other, text_translator.source_tokenizer)
    with pytest.raises(FileNotFoundError, match="missing"):
        models.Translator.load(tmp_path)
    with pytest.raises(ValueError, match="could not train a vocabulary"):
        models.train_translation_tokenizer(["ab ab"] * 5, vocabulary_size=500)
