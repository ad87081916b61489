"""The audio encoder (Keyword Transformer / Audio Spectrogram Transformer
style) as a functional Keras model."""

import keras
from keras import ops

from keras_attn import layers
from keras_attn.models.audio.presets import audio_config
from keras_attn.models.audio.presets import audio_frames


def audio_backbone(preset=None, name="audio_backbone", **overrides):
    """Builds the audio encoder as a functional model.

    From waveforms: `LogMelSpectrogram` (layer "log_mel"), a fixed
    feature normalization `(x - feature_mean) / feature_std` (layer
    "feature_normalization", a `Rescaling`), the spectrogram as a
    one-channel image `(frames, num_mel_bins, 1)` cut by `PatchEmbedding`
    (layer "patch_embedding") into tokens of `time_patch` frames by all the
    mel bins, with a class token and learned positions; then pre-norm
    `TransformerEncoder` blocks ("transformer_layer_<i>") and a final
    layer norm. Trailing frames that do not fill a token are dropped.

    The normalization is fixed rather than learned or per frame: log-mel
    values `log(power + 1e-6)` span -13.8 (silence) to about +10 (a
    full-scale tone), and the default -3.0 and 6.0 bring them to about
    -2..2 while keeping the
    loudness (a per-frame layer norm would blow quiet frames' noise up to
    the level of speech, and batch statistics differ between training and
    inference on small sets); it exports as one MUL and one ADD.

    With `num_features=F` the model takes precomputed frames (MFCCs, for
    example): inputs `features` `(batch, max_frames, F)` and
    `padding_mask` `(batch, max_frames)` (1 for real frames). Each frame
    is one token; the mask, with the class token's position added, goes
    to every encoder block, so padded frames never change the class
    token's output and clips of any length up to `max_frames` are
    classified whole.

    Args:
        preset: str or None. A key of `AUDIO_PRESETS`.
        name: str. The model's name.
        **overrides: configuration keys, see `audio_config`:
            `sample_rate`, `clip_samples`, `frame_length`, `frame_step`,
            `fft_length`, `num_mel_bins`, `lower_edge_hertz`,
            `upper_edge_hertz`, `log_offset`, `feature_mean`,
            `feature_std`, `time_patch`, `num_features`, `max_frames`,
            `num_layers`, `hidden_dim`, `num_heads`, `intermediate_dim`,
            `dropout`, `activation`, `layer_norm_epsilon`.

    Returns:
        keras.Model: input `waveforms` `(batch, clip_samples)` (float,
        -1..1, at `sample_rate`), or the dict of `features` and
        `padding_mask`; output `(batch, 1 + tokens, hidden_dim)`, the class
        token first.

    Example:

    >>> import numpy as np
    >>> backbone = audio_backbone("audio_tiny", num_layers=1)
    >>> backbone(np.zeros((2, 16000), "float32")).shape
    TensorShape([2, 99, 128])

    References:
        - Berg et al., "Keyword Transformer: A Self-Attention Model for
          Keyword Spotting", 2021. https://arxiv.org/abs/2104.00769
        - Gong et al., "AST: Audio Spectrogram Transformer", 2021.
          https://arxiv.org/abs/2104.01778
    """
    config = audio_config(preset, **overrides)
    frames = audio_frames(config)
    tokens = frames // config["time_patch"]
    used = tokens * config["time_patch"]  # frames that fill whole tokens
    padding_mask = None
    if config["num_features"] is None:
        bins = config["num_mel_bins"]
        waveforms = keras.Input(
            (config["clip_samples"],), name="waveforms"
        )  # (B, S)
        inputs = waveforms
        x = layers.LogMelSpectrogram(
            sample_rate=config["sample_rate"],
            frame_length=config["frame_length"],
            frame_step=config["frame_step"],
            fft_length=config["fft_length"],
            num_mel_bins=bins,
            lower_edge_hertz=config["lower_edge_hertz"],
            upper_edge_hertz=config["upper_edge_hertz"],
            log_offset=config["log_offset"],
            name="log_mel",
        )(waveforms)  # (B, frames, M)
        if used != frames:
            x = x[:, :used]  # (B, used, M)
    else:
        bins = config["num_features"]
        features = keras.Input((frames, bins), name="features")
        mask = keras.Input((frames,), dtype="int32", name="padding_mask")
        inputs = {"features": features, "padding_mask": mask}
        x = features  # (B, frames, F)
        # The class token may always be attended to.
        padding_mask = ops.concatenate(
            (ops.ones_like(mask[:, :1]), mask), axis=1
        )  # (B, 1 + frames)
        padding_mask = ops.cast(padding_mask, "bool")
    x = _normalization(config)(x)  # (B, used, M)
    x = keras.layers.Reshape((used, bins, 1), name="spectrogram_image")(x)
    x = layers.PatchEmbedding(
        image_size=(used, bins),
        patch_size=(config["time_patch"], bins),
        hidden_dim=config["hidden_dim"],
        use_class_token=True,
        name="patch_embedding",
    )(x)  # (B, 1 + tokens, D)
    x = keras.layers.Dropout(config["dropout"], name="embedding_dropout")(x)
    for index in range(config["num_layers"]):
        x = layers.TransformerEncoder(
            intermediate_dim=config["intermediate_dim"],
            num_heads=config["num_heads"],
            dropout=config["dropout"],
            activation=config["activation"],
            layer_norm_epsilon=config["layer_norm_epsilon"],
            normalize_first=True,
            name=f"transformer_layer_{index}",
        )(x, padding_mask=padding_mask)  # (B, 1 + tokens, D)
    x = keras.layers.LayerNormalization(
        epsilon=config["layer_norm_epsilon"], name="final_layer_norm"
    )(x)
    return keras.Model(inputs, x, name=name)


def _normalization(config):
    """`Rescaling` by `1 / feature_std` with offset `-mean / std`."""
    mean, std = config["feature_mean"], config["feature_std"]
    if isinstance(mean, list) or isinstance(std, list):
        size = len(mean) if isinstance(mean, list) else len(std)
        mean = mean if isinstance(mean, list) else [mean] * size
        std = std if isinstance(std, list) else [std] * size
        scale = [1.0 / s for s in std]
        offset = [-m / s for m, s in zip(mean, std, strict=True)]
    else:
        scale, offset = 1.0 / std, -mean / std
    return keras.layers.Rescaling(scale, offset, name="feature_normalization")
