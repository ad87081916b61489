"""The audio classifier: builders, presets, the waveform task and run
folders.

References are arithmetic nobody here wrote into the model: frame counts
and parameter counts from the published formulas, NumPy padding and
slicing, and a real learning check on tones the test makes (a low tone
against a high one). Clips are a quarter second at 8 kHz.
"""

import json

import keras
import numpy as np
import pytest
from layer_checks import randomize_model
from tiny_models import AUDIO_TINY
from tiny_models import audio_classifier
from tiny_models import tone_clips

from keras_attn import models
from keras_attn.models.tasks import write_task_file

CLIP = AUDIO_TINY["clip_samples"]


def frames_of(samples, frame_length, frame_step):
    """`tf.signal.frame(pad_end=False)`'s count."""
    return 1 + (samples - frame_length) // frame_step


def encoder_parameters(layers, dim, intermediate):
    """Pre-norm blocks: two layer norms, Q, K, V and output projections
    with biases, a two-layer MLP with biases."""
    per_block = 2 * 2 * dim + 4 * (dim * dim + dim)
    per_block += dim * intermediate + intermediate + intermediate * dim + dim
    return layers * per_block


def classifier_parameters(config, tokens, token_inputs, classes):
    dim = config["hidden_dim"]
    embedding = token_inputs * dim + dim  # the patch projection
    embedding += dim + (1 + tokens) * dim  # class token, positions
    encoder = encoder_parameters(
        config["num_layers"], dim, config["intermediate_dim"]
    )
    return embedding + encoder + 2 * dim + dim * classes + classes


def test_audio_tiny_fits_a_phone_and_counts_as_the_formula_says():
    # 1 s at 16 kHz, 25 ms frames every 10 ms: 98 frames of 40 mel bins,
    # one token each. Built, never trained.
    model = models.audio_classifier(6, "audio_tiny")
    config = models.audio_config("audio_tiny")
    tokens = frames_of(16000, 400, 160)
    assert tokens == 98
    expected = classifier_parameters(config, tokens, 40, 6)
    assert model.count_params() == expected
    assert expected < 1_000_000
    backbone = model.get_layer("audio_backbone")
    assert model.input.name == "waveforms"
    assert tuple(backbone.output.shape) == (None, 1 + tokens, 128)
    assert backbone.get_layer("log_mel").num_mel_bins == 40


def test_waveform_backbone_shapes_and_time_patches():
    config = dict(AUDIO_TINY, time_patch=2)
    backbone = models.audio_backbone(**config)
    frames = frames_of(CLIP, 200, 100)  # 19: the last frame is dropped
    out = backbone(np.zeros((3, CLIP), "float32"))
    assert tuple(out.shape) == (3, 1 + frames // 2, 16)
    log_mel = backbone.get_layer("log_mel")
    assert log_mel.sample_rate == 8000
    assert tuple(log_mel.output.shape) == (None, frames, 16)


def features_classifier(seed=0):
    model = models.audio_classifier(
        3,
        num_features=5,
        max_frames=12,
        num_layers=2,
        hidden_dim=16,
        num_heads=2,
        feature_mean=[0.0, 1.0, -1.0, 2.0, 0.5],
        feature_std=3.0,
    )
    randomize_model(model, seed=seed, scale=0.3)
    return model


def padded(frames, max_frames, fill):
    """`frames` (T, F) after `fill` rows, and the padding mask."""
    rows = np.concatenate(
        [frames, np.broadcast_to(fill, (max_frames - len(frames), 5))]
    )
    mask = (np.arange(max_frames) < len(frames)).astype("int32")
    return rows, mask


def test_padded_frames_never_change_the_features_classifier():
    model = features_classifier()
    assert sorted(model.input) == ["features", "padding_mask"]
    rng = np.random.default_rng(1)
    clips = [rng.normal(0, 3, (n, 5)).astype("float32") for n in (4, 9, 12)]
    batches = []
    for fill in (0.0, 1e3):  # zeros, then garbage
        rows, masks = zip(
            *(padded(clip, 12, fill) for clip in clips), strict=True
        )
        inputs = {
            "features": np.stack(rows).astype("float32"),
            "padding_mask": np.stack(masks),
        }
        batches.append(keras.ops.convert_to_numpy(model(inputs)))
    np.testing.assert_allclose(batches[0], batches[1], atol=1e-5, rtol=0)
    # Real frames do count (the check above is not vacuous).
    changed = clips[0].copy()
    changed[2] += 1.0
    rows, mask = padded(changed, 12, 0.0)
    out = model({"features": rows[None], "padding_mask": mask[None]})
    moved = np.abs(keras.ops.convert_to_numpy(out)[0] - batches[0][0])
    assert moved.max() > 1e-3


def test_attention_maps_over_time():
    task = audio_classifier(seed=0)
    clips, _ = tone_clips(2, seed=3)
    waveforms = models.audio.pad_or_crop(clips, CLIP)
    maps = models.attention_maps(task, waveforms)
    tokens = 1 + frames_of(CLIP, 200, 100)
    assert list(maps) == ["transformer_layer_0"]
    assert maps["transformer_layer_0"].shape == (2, 2, tokens, tokens)
    np.testing.assert_allclose(
        maps["transformer_layer_0"].sum(axis=-1), 1.0, atol=1e-5
    )
    # On features, padded frames get no attention at all.
    model = features_classifier()
    rows, mask = padded(np.ones((7, 5), "float32"), 12, 0.0)
    scores = models.attention_maps(
        model, {"features": rows[None], "padding_mask": mask[None]}
    )["transformer_layer_1"]
    assert scores.shape == (1, 2, 13, 13)
    assert np.all(scores[..., 1 + 7 :] == 0.0)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-5)


def test_task_learns_low_from_high_tones_by_name_and_saves(tmp_path):
    task = audio_classifier(seed=0)
    task.compile(optimizer=keras.optimizers.Adam(3e-3))
    clips, labels = tone_clips(32, seed=0)
    names = np.array(["low", "high"])[labels]
    task.fit(clips, names, batch_size=16, epochs=4, seed=0, verbose=0)
    held, held_labels = tone_clips(24, seed=1)
    predicted = [top[0][0] for top in task.classify(held)]
    accuracy = np.mean(
        np.array(predicted) == np.array(["low", "high"])[held_labels]
    )
    assert accuracy >= 0.95, accuracy
    _, metric = task.evaluate(held, held_labels, verbose=0)
    assert metric == pytest.approx(accuracy)

    path = tmp_path / "audio.keras"
    task.save(path)
    loaded = models.load_task(path)
    assert isinstance(loaded, models.AudioClassifier)
    assert loaded.class_names == ["low", "high"]
    assert (loaded.sample_rate, loaded.clip_samples) == (8000, CLIP)
    np.testing.assert_array_equal(
        loaded.predict(held, verbose=0), task.predict(held, verbose=0)
    )


def test_clips_are_padded_with_zeros_or_cropped_to_the_model():
    import tensorflow as tf

    task = audio_classifier(seed=2)
    randomize_model(task.backbone, seed=2, scale=0.3)
    network = keras.Model(task.input, task.output)
    rng = np.random.default_rng(0)
    short = rng.uniform(-0.5, 0.5, 1500).astype("float32")
    long = rng.uniform(-0.5, 0.5, 2600).astype("float32")
    by_hand = np.zeros((2, CLIP), "float32")
    by_hand[0, :1500] = short
    by_hand[1] = long[:CLIP]
    want = keras.ops.convert_to_numpy(network(by_hand))
    np.testing.assert_allclose(
        task.predict([short, long], verbose=0), want, atol=1e-6
    )
    # A dataset goes through the preprocessor inside tf.data.
    longer = np.stack([np.concatenate([short, np.zeros(1100)]), long])
    dataset = tf.data.Dataset.from_tensor_slices(longer.astype("float32"))
    np.testing.assert_allclose(
        task.predict(dataset.batch(2), verbose=0), want, atol=1e-6
    )


def test_bad_waveforms_are_refused_clearly():
    task = audio_classifier()
    with pytest.raises(ValueError, match=r"\(batch, samples\).*\(2000,\)"):
        task.predict(np.zeros(2000, "float32"))
    with pytest.raises(ValueError, match=r"received shape \(2, 2000, 2\)"):
        task.predict(np.zeros((2, 2000, 2), "float32"))
    with pytest.raises(TypeError, match="int16 samples"):
        task.predict(np.zeros((2, 2000), "int16"))
    with pytest.raises(ValueError, match="not among the task's classes"):
        task.fit(np.zeros((2, CLIP), "float32"), ["low", "loud"], verbose=0)


def test_a_run_folder_loads_as_an_audio_task(tmp_path):
    # What `keras-attn train audio-classifier` writes, by hand.
    network = models.audio_classifier(2, **AUDIO_TINY)
    randomize_model(network, seed=4, scale=0.3)
    network.save(tmp_path / "model.keras")
    (tmp_path / "classes.json").write_text(json.dumps(["low", "high"]))
    write_task_file(
        tmp_path, "audio_classifier", sample_rate=8000, clip_samples=CLIP
    )
    task = models.load_task(tmp_path)
    assert isinstance(task, models.AudioClassifier)
    assert task.class_names == ["low", "high"]
    clips, _ = tone_clips(3, seed=5)
    want = network.predict(models.audio.pad_or_crop(clips, CLIP), verbose=0)
    np.testing.assert_allclose(task.predict(clips, verbose=0), want, atol=1e-6)
    write_task_file(
        tmp_path, "audio_classifier", sample_rate=16000, clip_samples=CLIP
    )
    with pytest.raises(ValueError, match="sample_rate=16000.*8000"):
        models.load_task(tmp_path)


def test_bad_configurations_raise():
    with pytest.raises(ValueError, match="audio_huge.*audio_tiny"):
        models.audio_config("audio_huge")
    with pytest.raises(ValueError, match="16 values.*received 3"):
        models.audio_config(
            "audio_tiny", num_mel_bins=16, feature_mean=[0.0, 1.0, 2.0]
        )
    with pytest.raises(ValueError, match="time_patch.*19 frames"):
        models.audio_config("audio_tiny", **AUDIO_TINY, time_patch=20)
    with pytest.raises(ValueError, match="clip_samples.*at least one frame"):
        models.audio_config("audio_tiny", clip_samples=100)
    with pytest.raises(ValueError, match="need `num_features` and"):
        models.audio_config("audio_tiny", num_features=13)
    with pytest.raises(ValueError, match="num_classes.*received 0"):
        models.audio_classifier(0, "audio_tiny")
