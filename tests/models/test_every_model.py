"""What every model builder promises: a faithful `.keras` round trip and a
summary that names its parts."""

import io

import keras
import numpy as np
import pytest
from layer_checks import randomize_model

from keras_attn import models


def text_inputs(vocabulary=50):
    ids = np.array([[2, 7, 9, 11, 3, 0], [2, 5, 3, 0, 0, 0]], "int32")
    return {
        "token_ids": ids % vocabulary,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": (ids != 0).astype("int32"),
    }


def tiny_bert():
    return models.bert_backbone("bert_tiny", vocabulary_size=50)


def build(kind):
    """A small model of each kind, and inputs for it."""
    if kind == "bert_backbone":
        return tiny_bert(), text_inputs()
    if kind == "text_classifier":
        return models.bert_text_classifier(tiny_bert(), 3), text_inputs()
    if kind == "sentence_embedder":
        return models.bert_sentence_embedder(tiny_bert()), text_inputs()
    if kind == "masked_lm":
        inputs = text_inputs()
        inputs["mask_positions"] = np.array([[1, 3], [1, 1]], "int32")
        return models.bert_masked_lm(tiny_bert()), inputs
    if kind == "vit_classifier":
        images = np.random.default_rng(0).random((2, 8, 8, 1), "float32")
        return models.vit_classifier(10, "vit_digits"), images
    if kind == "translator":
        ids = np.array([[5, 6, 7, 0], [8, 9, 0, 0]], "int32")
        inputs = {"encoder_token_ids": ids, "decoder_token_ids": ids}
        return (
            models.transformer_translator(
                "translator_tiny", vocabulary_size=20
            ),
            inputs,
        )
    raise AssertionError(kind)


KINDS = [
    "bert_backbone",
    "text_classifier",
    "sentence_embedder",
    "masked_lm",
    "vit_classifier",
    "translator",
]


def flat(outputs):
    if isinstance(outputs, dict):
        return [np.asarray(outputs[key]) for key in sorted(outputs)]
    return [np.asarray(outputs)]


@pytest.mark.parametrize("kind", KINDS)
def test_keras_round_trip_gives_identical_outputs(kind, tmp_path):
    model, inputs = build(kind)
    randomize_model(model, seed=0, scale=0.2)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # safe_mode stays on
    assert type(restored) is type(model)
    assert restored.count_params() == model.count_params()
    for mine, theirs in zip(
        flat(model(inputs)), flat(restored(inputs)), strict=True
    ):
        np.testing.assert_array_equal(theirs, mine)


@pytest.mark.parametrize("kind", KINDS)
def test_summary_names_every_layer_and_the_total(kind):
    model, _ = build(kind)
    lines = io.StringIO()
    model.summary(print_fn=lambda line, **_: lines.write(line + "\n"))
    text = lines.getvalue()
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        assert layer.name[:12] in text, layer.name
    assert f"Total params: {model.count_params():,}" in text
    assert "unbuilt" not in text
