"""What an export reads from a task (`export._defaults`): the length it
was trained at, its tokenizer, its class names and its image
normalization, from real keras-hub preprocessors attached to functional
models as keras-hub's tasks (and keras_attn's) hold them; and the lengths
`to_tflite` and `to_mediapipe` choose from them, without converting
anything."""

import warnings

import keras
import keras_hub
import numpy as np
import pytest

from keras_attn import models
from keras_attn.export import _defaults
from keras_attn.export import _specs

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat"]


def classifier(table=32):
    """A BERT text classifier whose learned position table holds `table`
    positions and whose inputs have an unknown length."""
    backbone = models.bert_backbone(
        vocabulary_size=len(VOCAB), num_layers=1, hidden_dim=8, num_heads=1,
        intermediate_dim=8, max_sequence_length=table,
    )  # fmt: skip
    return models.bert_text_classifier(backbone, 2)


def text_task(length, table=32, class_names=("neg", "pos")):
    model = classifier(table)
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=VOCAB, lowercase=True, strip_accents=True
    )
    model.preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=length
    )
    model.class_names = list(class_names)
    return model


def test_a_plain_model_says_nothing():
    assert _defaults.trained_with(classifier()) == _defaults.TrainedWith()


def test_a_text_task_gives_its_length_tokenizer_and_class_names():
    found = _defaults.trained_with(text_task(12))
    assert found.sequence_length == 12
    assert found.class_names == ["neg", "pos"]
    assert list(found.tokenizer.get_vocabulary()) == VOCAB
    assert (found.tokenizer.lowercase, found.tokenizer.strip_accents) == (
        True,
        True,
    )
    assert found.normalization is None and found.image_size is None


def test_the_preprocessor_length_is_no_position_table():
    # keras-hub tracks a task's preprocessor as a sublayer; its
    # `sequence_length` (12) must not pass for the model's table (32).
    model = text_task(12, table=32)
    assert _specs._position_limit(model) == 32
    assert _specs._sizes(model) == (len(VOCAB), 2)
    names = {layer.name for layer in _specs.network_layers(model)}
    assert model.preprocessor.name not in names
    assert model.preprocessor.tokenizer.name not in names
    # ... also when the task sits inside another model (a softmax added).
    outer = keras.Model(model.input, keras.layers.Softmax()(model.output))
    assert _specs._position_limit(outer) == 32


@pytest.mark.parametrize(
    "scale, offset, mean, std",
    [
        # [0, 1]: x / 255.
        (1 / 255, 0.0, [0.0], [255.0]),
        # [-1, 1]: x / 127.5 - 1.
        (1 / 127.5, -1.0, [127.5], [127.5]),
        # ImageNet: (x / 255 - m) / s per channel; in pixels the constants
        # everyone copies, (123.675, 116.28, 103.53) / (58.395, 57.12,
        # 57.375).
        (
            [1 / (255 * s) for s in (0.229, 0.224, 0.225)],
            [
                -m / s
                for m, s in ((0.485, 0.229), (0.456, 0.224), (0.406, 0.225))
            ],
            [123.675, 116.28, 103.53],
            [58.395, 57.12, 57.375],
        ),
        # No scale, no offset: the model takes pixels as they are.
        (None, None, [0.0], [1.0]),
    ],
)
def test_the_image_converter_gives_mediapipe_normalization(
    scale, offset, mean, std
):
    model = models.vit_classifier(3, "vit_digits", num_layers=1)
    converter = keras_hub.layers.ImageConverter(
        image_size=(8, 8), scale=scale, offset=offset
    )
    model.preprocessor = keras_hub.models.ImageClassifierPreprocessor(
        image_converter=converter
    )
    found = _defaults.trained_with(model)
    np.testing.assert_allclose(found.normalization[0], mean, rtol=1e-9)
    np.testing.assert_allclose(found.normalization[1], std, rtol=1e-9)
    assert "-0.0" not in repr(found.normalization)  # as the report prints it
    assert found.image_size == (8, 8)
    # The normalization maps pixels as the converter does.
    pixels = np.array([0.0, 17.0, 255.0])[:, None]
    converted = pixels * np.asarray(scale or 1.0) + np.asarray(offset or 0.0)
    normalized = (pixels - np.asarray(mean)) / np.asarray(std)
    np.testing.assert_allclose(normalized, converted, atol=1e-12)


def test_class_names_that_are_not_a_list_of_str_are_ignored():
    model = classifier()
    for names in ("neg,pos", [0, 1], []):
        model.class_names = names
        assert _defaults.trained_with(model).class_names is None


# -- The length of a .tflite file --------------------------------------------


def test_tflite_length_takes_the_trained_length_or_refuses():
    assert _defaults.tflite_length(text_task(12), None) == (12, None)
    with pytest.raises(ValueError) as refused:
        _defaults.tflite_length(classifier(table=32), None)
    message = str(refused.value)
    assert "unknown length (token_ids" in message
    assert "expected `sequence_length` as an int, at most 32" in message
    assert '"dynamic"' in message and message.endswith("received None.")
    assert _defaults.tflite_length(classifier(), "dynamic") == (None, None)
    # A model of fixed shapes needs no length.
    inputs = keras.Input((4,), name="x")
    dense = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert _defaults.tflite_length(dense, None) == (None, None)


def test_tflite_length_says_when_it_is_not_the_trained_one():
    length, note = _defaults.tflite_length(text_task(12), 20)
    assert length == 20
    assert "sequence length 20" in note and "trained at 12" in note
    assert _defaults.tflite_length(text_task(12), 12) == (12, None)
    assert _defaults.tflite_length(classifier(), 20) == (20, None)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "long", "16"])
def test_tflite_length_refuses_what_is_no_length(bad):
    with pytest.raises(ValueError, match="must be a positive int, None"):
        _defaults.tflite_length(classifier(), bad)


def test_a_length_above_the_position_table_is_refused():
    with pytest.raises(ValueError) as refused:
        _defaults.tflite_length(classifier(table=16), 17)
    assert str(refused.value) == (
        "The model's learned position table holds 16 positions; expected "
        "`sequence_length` of at most 16, received 17."
    )
    with pytest.raises(ValueError, match="preprocessor says 24 tokens, but"):
        _defaults.tflite_length(text_task(24, table=16), None)


# -- The length of a MediaPipe file -------------------------------------------


def test_mediapipe_length_defaults():
    # The trained length; else the position table when under 128; else 128.
    assert _defaults.mediapipe_length(text_task(12), None) == (12, None)
    assert _defaults.mediapipe_length(classifier(table=16), None) == (16, None)
    assert _defaults.mediapipe_length(classifier(table=512), None) == (
        128,
        None,
    )
    # A fixed input length is the model's own.
    inputs = {
        name: keras.Input((20,), dtype="int32", name=name)
        for name in ("token_ids", "segment_ids", "padding_mask")
    }
    fixed = keras.Model(inputs, classifier()(inputs))
    assert _defaults.mediapipe_length(fixed, None) == (20, None)
    with pytest.raises(ValueError, match="takes 20 tokens.*received 24"):
        _defaults.mediapipe_length(fixed, 24)


def test_mediapipe_length_refusals_and_note():
    task = text_task(12, table=32)
    length, note = _defaults.mediapipe_length(task, 16)
    assert length == 16 and "trained at 12" in note and "length 16" in note
    with pytest.raises(ValueError, match="holds 32 positions.*received 40"):
        _defaults.mediapipe_length(task, 40)
    for bad in ("dynamic", 2, 12.0):
        with pytest.raises(ValueError, match="needs a fixed `sequence_length`"):
            _defaults.mediapipe_length(task, bad)


def test_reading_the_defaults_warns_of_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _defaults.tflite_length(text_task(12), 20)
        _defaults.mediapipe_length(text_task(12), 20)
