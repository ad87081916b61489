"""The translator's parts: roles, the `call` hook, the encoder alone, and
translators saved before the model was a class."""

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_attn
from keras_attn import models
from keras_attn.models.translator import TransformerTranslator
from keras_attn.models.translator import TranslatorParts
from keras_attn.models.translator import decoding
from keras_attn.models.translator import translator_encoder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
START, END = 1, 2
SOURCE = np.array([[5, 6, 7, 0, 0], [8, 9, 10, 11, 3]], "int32")
TARGET = np.array([[START, 12, 13, 0], [START, 4, 5, 6]], "int32")
VARIANTS = {
    "shared": {},
    "separate": {
        "target_vocabulary_size": 33,
        "share_embeddings": False,
        "tie_output": False,
        "normalize_first": True,
        "positional": "learned",
    },
}


def build(variant, **overrides):
    return models.transformer_translator(
        "translator_tiny",
        vocabulary_size=30,
        dropout=0.0,
        **VARIANTS[variant],
        **overrides,
    )


def run(model, source=SOURCE, target=TARGET):
    return np.asarray(
        model({"encoder_token_ids": source, "decoder_token_ids": target})
    )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_parts_hold_the_models_own_layers_by_role(variant):
    model = build(variant)
    assert isinstance(model, TransformerTranslator)
    parts = TranslatorParts(model)
    assert parts.roles() == model.parts.roles()
    get = model.get_layer
    for index in range(2):
        assert parts.encoder_layers[index] is get(f"encoder_layer_{index}")
        assert parts.decoder_layers[index] is get(f"decoder_layer_{index}")
    assert parts.encoder_positions is get("encoder_positions")
    assert parts.decoder_dropout is get("decoder_dropout")
    if variant == "shared":
        assert parts.source_table is parts.target_table
        assert parts.source_table is get("token_embedding")
        assert parts.logits is parts.encoder_final_norm is None
    else:
        assert parts.target_table is get("target_token_embedding")
        assert parts.logits is get("logits")
        assert parts.decoder_final_norm is get("decoder_final_norm")
    expected_vocabulary = 30 if variant == "shared" else 33
    assert (parts.vocabulary_size, parts.hidden_dim) == (
        expected_vocabulary,
        64,
    )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_encode_then_decode_is_the_model(variant):
    model = build(variant)
    encoded, mask = model.parts.encode(SOURCE)
    np.testing.assert_array_equal(np.asarray(mask), SOURCE != 0)
    logits = model.parts.decode(TARGET, encoded, mask)
    np.testing.assert_allclose(np.asarray(logits), run(model), atol=1e-6)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_layer_call_of_the_loop_goes_through_call(variant):
    model = build(variant)
    parts = model.parts
    seen = set()

    def recording(layer, *args, **kwargs):
        seen.add(id(layer))
        return layer(*args, **kwargs)

    plain = decoding.greedy_tokens(parts, SOURCE, 5, START, END)
    hooked = decoding.greedy_tokens(
        parts, SOURCE, 5, START, END, call=recording
    )
    np.testing.assert_array_equal(np.asarray(hooked), np.asarray(plain))
    np.testing.assert_array_equal(
        np.asarray(plain),
        np.asarray(models.greedy_decode(model, SOURCE, 5, START, END)),
    )
    layers = [
        layer
        for role, value in parts.roles().items()
        for layer in (value if isinstance(value, list) else [value])
        if layer is not None
    ]
    missing = [layer.name for layer in layers if id(layer) not in seen]
    assert not missing, f"called around `call`: {missing}"


def test_call_substitutes_a_layer_inside_the_loop():
    """What an exporter does: the loop runs the substitute, not the layer."""
    model = build("shared")
    parts = model.parts
    forced = np.zeros(parts.vocabulary_size, "float32")
    forced[7] = 10.0

    def substituting(layer, *args, **kwargs):
        if layer is parts.target_table and kwargs.get("reverse"):
            y = args[0]  # (B, T, D) -> logits favouring token 7
            return keras.ops.zeros(y.shape[:-1] + (30,)) + forced
        return layer(*args, **kwargs)

    for use_cache in (True, False):
        tokens = decoding.greedy_tokens(
            parts, SOURCE, 3, START, END, use_cache=use_cache, call=substituting
        )
        np.testing.assert_array_equal(np.asarray(tokens), np.full((2, 3), 7))


def test_greedy_tokens_trace_in_a_tf_function():
    tf = pytest.importorskip("tensorflow")
    model = build("separate")
    parts = model.parts

    @tf.function(input_signature=[tf.TensorSpec((1, 5), tf.int32)])
    def translate(source_ids):
        return decoding.greedy_tokens(parts, source_ids, 6, START, END)

    for row in SOURCE:
        np.testing.assert_array_equal(
            translate(row[None]).numpy(),
            np.asarray(models.greedy_decode(model, row[None], 6, START, END)),
        )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_encoder_alone_shares_the_translators_layers(variant):
    model = build(variant)
    encoder = translator_encoder(model)
    out = encoder(SOURCE)
    encoded, mask = model.parts.encode(SOURCE)
    np.testing.assert_allclose(
        np.asarray(out["encoder_sequence"]), np.asarray(encoded), atol=1e-6
    )
    np.testing.assert_array_equal(
        np.asarray(out["encoder_padding_mask"]), SOURCE != 0
    )
    # The very same variables: the source table and the encoder side.
    ours = {id(w) for w in model.weights}
    assert encoder.weights and all(id(w) in ours for w in encoder.weights)
    table = model.parts.source_table.embeddings
    table.assign(np.asarray(table) * 2.0)
    changed = encoder(SOURCE)["encoder_sequence"]
    assert np.abs(np.asarray(changed) - np.asarray(encoded)).max() > 1e-3


def test_encoder_alone_exports_to_tflite(tmp_path):
    from keras_attn.export import to_tflite

    encoder = translator_encoder(build("shared"))
    report = to_tflite(
        encoder,
        tmp_path / "encoder.tflite",
        sequence_length=8,
        measure_latency=False,
    )
    assert report.non_builtin_ops == {}
    assert report.max_abs_diff["encoder_sequence"] < 1e-4
    assert report.max_abs_diff["encoder_padding_mask"] == 0


def test_saved_translator_keeps_its_class_config_and_precision(tmp_path):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build("separate")
    finally:
        keras.config.set_dtype_policy("float32")
    path = tmp_path / "translator.keras"
    for _ in range(2):  # a loaded model saves what it loaded
        model.save(path)
        loaded = keras_attn.load_model(path)
        assert type(loaded) is TransformerTranslator
        assert loaded.get_config() == model.get_config()
        assert loaded.parts.decoder_layers[1].compute_dtype == "float16"
        np.testing.assert_allclose(run(loaded), run(model), atol=1e-6)
        model = loaded


@pytest.mark.parametrize("variant", ["shared", "separate"])
def test_translators_saved_by_the_functional_builder_still_decode(variant):
    """Files written at f505313 (tests/fixtures/make_translator_v0.py)."""
    saved = np.load(FIXTURES / "translator_v0.npz")
    old = keras_attn.load_model(FIXTURES / f"translator_v0_{variant}.keras")
    assert not isinstance(old, TransformerTranslator)  # a plain Functional
    source, target = saved["source"], saved["target"]
    np.testing.assert_allclose(
        run(old, source, target), saved[f"{variant}_logits"], atol=1e-5
    )
    greedy = models.greedy_decode(old, source, 7, START, END)
    np.testing.assert_array_equal(
        np.asarray(greedy), saved[f"{variant}_greedy"]
    )
    beam = models.beam_search(old, source, 7, START, END, beam_size=3)
    np.testing.assert_array_equal(np.asarray(beam), saved[f"{variant}_beam"])
    encoded, _ = TranslatorParts(old).encode(source)
    alone = translator_encoder(old)(source)["encoder_sequence"]
    np.testing.assert_allclose(
        np.asarray(alone), np.asarray(encoded), atol=1e-6
    )


@pytest.mark.parametrize("variant", ["shared", "separate"])
def test_a_new_translator_takes_an_old_files_weights_in_order(variant):
    old = keras_attn.load_model(FIXTURES / f"translator_v0_{variant}.keras")
    maker = _fixture_maker()  # the sizes the old files were built with
    new = models.transformer_translator(
        None, **maker.SMALL, **maker.VARIANTS[variant]
    )
    assert [w.path for w in new.weights] == [w.path for w in old.weights]
    new.set_weights(old.get_weights())
    saved = np.load(FIXTURES / "translator_v0.npz")
    np.testing.assert_allclose(
        run(new, saved["source"], saved["target"]),
        saved[f"{variant}_logits"],
        atol=1e-5,
    )


def _fixture_maker():
    spec = importlib.util.spec_from_file_location(
        "make_translator_v0", FIXTURES / "make_translator_v0.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parts_refuse_other_models_naming_what_they_expected():
    with pytest.raises(ValueError, match="transformer_translator"):
        TranslatorParts(models.vit_classifier(3, "vit_digits"))
    with pytest.raises(ValueError, match="lacks"):
        TranslatorParts.from_layers(source_table=None)
