"""The BERT backbone builder, its presets and keras-hub conversion."""

import keras
import keras_hub
import numpy as np
import pytest
from keras import ops
from layer_checks import max_diff
from layer_checks import randomize_model

from keras_attn import models

SMALL = {
    "vocabulary_size": 60,
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 16,
    "intermediate_dim": 32,
    "max_sequence_length": 10,
}


def batch(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 60, (3, 8)).astype("int32")
    lengths = [8, 5, 2]
    mask = np.arange(8)[None, :] < np.array(lengths)[:, None]
    ids[~mask] = 0
    segments = (np.arange(8)[None, :] >= np.array([4, 3, 1])[:, None]) & mask
    return {
        "token_ids": ids,
        "segment_ids": segments.astype("int32"),
        "padding_mask": mask.astype("int32"),
    }


def test_outputs_and_inputs_are_named():
    model = models.bert_backbone(**SMALL)
    assert sorted(model.input) == ["padding_mask", "segment_ids", "token_ids"]
    out = model(batch())
    assert tuple(out["sequence_output"].shape) == (3, 8, 16)
    assert tuple(out["pooled_output"].shape) == (3, 16)


@pytest.mark.parametrize("preset", ["bert_tiny", "bert_mini"])
def test_preset_parameter_count_equals_keras_hub(preset):
    config = models.bert_config(preset)
    ours = models.bert_backbone(preset)
    theirs = keras_hub.models.BertBackbone(
        vocabulary_size=config["vocabulary_size"],
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["intermediate_dim"],
    )
    assert ours.count_params() == theirs.count_params()


def test_bert_base_has_the_published_110m_parameters():
    # Devlin et al. (2019), table of model sizes: BERT-base, 110M.
    count = models.bert_backbone("bert_base").count_params()
    assert abs(count - 110e6) / 110e6 < 0.01, count


@pytest.mark.parametrize(
    "preset, sizes",
    [
        ("bert_tiny", (2, 128, 2, 512)),
        ("bert_mini", (4, 256, 4, 1024)),
        ("bert_small", (4, 512, 8, 2048)),
        ("bert_base", (12, 768, 12, 3072)),
        ("minilm_l6", (6, 384, 12, 1536)),
    ],
)
def test_presets_have_the_published_shapes(preset, sizes):
    # Layers, hidden, heads, feed-forward: Devlin et al. (2019), Turc et
    # al. (2019) and the all-MiniLM-L6-v2 config.json.
    config = models.bert_config(preset)
    keys = ("num_layers", "hidden_dim", "num_heads", "intermediate_dim")
    assert tuple(config[k] for k in keys) == sizes
    assert config["vocabulary_size"] == 30522
    assert config["max_sequence_length"] == 512


def test_from_keras_hub_gives_the_same_outputs():
    hub = keras_hub.models.BertBackbone(**SMALL, dropout=0.1)
    randomize_model(hub, seed=1, scale=0.2)
    ours = models.from_keras_hub(hub)
    inputs = batch()
    got, want = ours(inputs), hub(inputs)
    for key in ("sequence_output", "pooled_output"):
        assert max_diff(got[key], want[key]) <= 1e-5, key
    # The weights were really copied: a fresh model differs.
    fresh = models.bert_backbone(**SMALL)
    assert (
        max_diff(fresh(inputs)["pooled_output"], want["pooled_output"]) > 1e-2
    )


def test_padding_never_changes_real_tokens():
    model = models.bert_backbone(**SMALL)
    randomize_model(model, seed=1, scale=0.2)
    inputs = batch()
    other = {k: v.copy() for k, v in inputs.items()}
    pad = inputs["padding_mask"] == 0
    other["token_ids"][pad] = 17
    other["segment_ids"][pad] = 1
    a = ops.convert_to_numpy(model(inputs)["sequence_output"])
    b = ops.convert_to_numpy(model(other)["sequence_output"])
    real = ~pad
    np.testing.assert_allclose(a[real], b[real], atol=1e-5, rtol=0)
    assert np.max(np.abs(a[pad] - b[pad])) > 1e-3


def test_keras_file_round_trip(tmp_path):
    model = models.bert_backbone(**SMALL)
    randomize_model(model, seed=1, scale=0.2)
    path = tmp_path / "bert.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    inputs = batch()
    got, want = restored(inputs), model(inputs)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_array_equal(
            ops.convert_to_numpy(got[key]), ops.convert_to_numpy(want[key])
        )


def test_a_fit_step_trains_a_classifier_on_top():
    backbone = models.bert_backbone(**SMALL)
    logits = keras.layers.Dense(2)(backbone.output["pooled_output"])
    model = keras.Model(backbone.input, logits)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = [np.array(w) for w in backbone.trainable_weights]
    history = model.fit(batch(), np.array([0, 1, 0]), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    moved = [
        not np.array_equal(b, np.array(w))
        for b, w in zip(before, backbone.trainable_weights, strict=True)
    ]
    assert all(moved)


def test_bad_configurations_raise():
    with pytest.raises(ValueError, match="bert_huge.*bert_base"):
        models.bert_config("bert_huge")
    with pytest.raises(ValueError, match=r"\['hidden'\]"):
        models.bert_config("bert_tiny", hidden=4)
    with pytest.raises(ValueError, match="needs.*num_heads"):
        models.bert_config(num_layers=2, hidden_dim=8, intermediate_dim=4)


def test_from_keras_hub_rejects_other_models():
    with pytest.raises(
        ValueError, match="BertBackbone, ViTBackbone; received a Sequential"
    ):
        models.from_keras_hub(keras.Sequential([keras.layers.Dense(2)]))


def test_sentence_embedder_is_normalised_masked_mean():
    backbone = models.bert_backbone(**SMALL)
    randomize_model(backbone, seed=1, scale=0.2)
    embedder = models.bert_sentence_embedder(backbone)
    data = batch()
    data["padding_mask"][2] = 0  # a row without real tokens
    sequence = ops.convert_to_numpy(backbone(data)["sequence_output"])
    mask = data["padding_mask"][..., None].astype("float64")
    mean = (sequence * mask).sum(1) / np.maximum(mask.sum(1), 1.0)
    norm = np.linalg.norm(mean, axis=1, keepdims=True)
    want = mean / np.maximum(norm, 1e-12)
    got = ops.convert_to_numpy(embedder(data))
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    assert np.all(got[2] == 0.0)
    np.testing.assert_allclose(np.linalg.norm(got[:2], axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("pooling", ["pooled", "mean"])
def test_text_classifier_learns_and_round_trips(pooling, tmp_path):
    keras.utils.set_random_seed(0)
    backbone = models.bert_backbone(**SMALL, dropout=0.0)
    classifier = models.bert_text_classifier(
        backbone, num_classes=2, pooling=pooling, dropout=0.0
    )
    # Label: does token 7 occur? One step of attention can tell.
    rng = np.random.default_rng(0)
    ids = rng.integers(8, 60, (64, 8)).astype("int32")
    labels = rng.integers(0, 2, 64)
    ids[labels == 1, rng.integers(0, 8, (labels == 1).sum())] = 7
    data = {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": np.ones_like(ids),
    }
    classifier.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = classifier.fit(data, labels, epochs=15, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] >= 0.9
    assert history.history["loss"][-1] < history.history["loss"][0] / 2

    path = tmp_path / "classifier.keras"
    classifier.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(restored(data)),
        ops.convert_to_numpy(classifier(data)),
    )


def test_text_classifier_rejects_bad_arguments():
    backbone = models.bert_backbone(**SMALL)
    with pytest.raises(ValueError, match="num_classes.*received 1"):
        models.bert_text_classifier(backbone, 1)
    with pytest.raises(ValueError, match="pooling.*received 'max'"):
        models.bert_text_classifier(backbone, 2, pooling="max")
