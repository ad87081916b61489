"""The audio classifier as a task: backbone, waveform preprocessor and head
in one model that fits and predicts on raw samples (keras-hub's `Task`
shape)."""

import keras
import keras_hub
import numpy as np

from keras_attn.models._task import ClassifierTask
from keras_attn.models._task import _is_dataset
from keras_attn.models._task import check_class_names
from keras_attn.models.audio.backbone import audio_backbone
from keras_attn.models.audio.classifier import classifier_logits
from keras_attn.models.audio.presets import audio_config


def _inside_tf_function():
    import tensorflow as tf

    return tf.inside_function()


def _shape_error(shape, clip_samples):
    return ValueError(
        "An audio classifier takes waveforms of shape (batch, samples): "
        f"mono float samples in [-1, 1] (the model's clip is {clip_samples} "
        f"samples); received shape {tuple(shape)}. Give one clip as "
        "`waveform[None]`, and mix stereo to mono (mean over channels)."
    )


def _dtype_error(dtype):
    return TypeError(
        "An audio classifier takes float waveforms in [-1, 1]; received "
        f"{dtype} samples (divide 16-bit PCM by 32768)."
    )


def pad_or_crop(waveforms, clip_samples):
    """NumPy `(batch, clip_samples)` float32: each clip's first
    `clip_samples` samples, zeros after a shorter clip's end.

    Args:
        waveforms: a `(batch, samples)` array, or a list of 1-D clips of
            any lengths.
        clip_samples: int.

    Example:

    >>> import numpy as np
    >>> pad_or_crop([np.ones(3), np.ones(6)], 4)
    array([[1., 1., 1., 0.],
           [1., 1., 1., 1.]], dtype=float32)
    """
    if isinstance(waveforms, (list, tuple)):
        clips = [np.asarray(clip) for clip in waveforms]
    else:
        array = np.asarray(waveforms)
        if array.ndim != 2:
            raise _shape_error(array.shape, clip_samples)
        clips = list(array)
    out = np.zeros((len(clips), clip_samples), "float32")
    for row, clip in zip(out, clips, strict=True):
        if clip.ndim != 1:
            raise _shape_error((len(clips), *clip.shape), clip_samples)
        if clip.dtype.kind not in "f":
            raise _dtype_error(clip.dtype)
        length = min(len(clip), clip_samples)
        row[:length] = clip[:length]
    return out


@keras.saving.register_keras_serializable(package="keras_attn")
class WaveformConverter(keras_hub.layers.AudioConverter):
    """Pads or crops waveforms to the model's clip length.

    Keeps each clip's first `clip_samples` samples and appends zeros to a
    shorter one (as `keras_attn.data.audio.load_clip` does, and as
    MediaPipe's AudioClassifier fills its last window).

    Args:
        clip_samples: int. Samples per clip.
        sample_rate: int. The rate the model expects (recorded here for
            exporters; nothing is resampled).
        **kwargs: base layer arguments.

    Call arguments:
        waveforms: float `(batch, samples)`, any number of samples.

    Returns:
        float32 `(batch, clip_samples)`.

    Example:

    >>> import numpy as np
    >>> converter = WaveformConverter(clip_samples=4, sample_rate=8000)
    >>> np.asarray(converter(np.ones((1, 6), "float32")))
    array([[1., 1., 1., 1.]], dtype=float32)
    >>> np.asarray(converter(np.ones((1, 2), "float32")))
    array([[1., 1., 0., 0.]], dtype=float32)
    """

    def __init__(self, clip_samples, sample_rate, **kwargs):
        super().__init__(**kwargs)
        for key, value in (
            ("clip_samples", clip_samples),
            ("sample_rate", sample_rate),
        ):
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or (value < 1)
            ):
                raise ValueError(
                    f"`{key}` must be a positive int; received {value!r}."
                )
        self.clip_samples = clip_samples
        self.sample_rate = sample_rate

    def audio_shape(self):
        return (self.clip_samples,)

    def call(self, waveforms):
        if _inside_tf_function():  # in tf.data, whatever the backend
            import tensorflow as ops_

            pad = ops_.pad
        else:
            ops_ = keras.ops
            pad = keras.ops.pad
        if not ops_.is_tensor(waveforms):
            waveforms = np.asarray(waveforms)
        if len(waveforms.shape) != 2:
            raise _shape_error(waveforms.shape, self.clip_samples)
        dtype = keras.backend.standardize_dtype(waveforms.dtype)
        if not dtype.startswith(("float", "bfloat")):
            raise _dtype_error(dtype)
        x = ops_.cast(waveforms, "float32")  # (B, S)
        # Zeros after every clip, then the first clip_samples: one form
        # for longer and shorter clips alike.
        x = pad(x, [[0, 0], [0, self.clip_samples]])  # (B, S + clip)
        return x[:, : self.clip_samples]  # (B, clip)

    def get_config(self):
        config = super().get_config()
        config.update(
            clip_samples=self.clip_samples, sample_rate=self.sample_rate
        )
        return config


@keras.saving.register_keras_serializable(package="keras_attn")
class AudioClassifierPreprocessor(keras_hub.models.Preprocessor):
    """keras-hub's preprocessor shape over a `WaveformConverter`: `x`
    padded or cropped, `y` and `sample_weight` passed through.

    Args:
        audio_converter: a `WaveformConverter`.
        **kwargs: base layer arguments.

    Example:

    >>> import numpy as np
    >>> pre = audio_preprocessor(clip_samples=4, sample_rate=8000)
    >>> x, y = pre(np.ones((2, 3), "float32"), y=np.array([0, 1]))
    >>> tuple(x.shape)
    (2, 4)
    """

    def __init__(self, audio_converter=None, **kwargs):
        super().__init__(**kwargs)
        self.audio_converter = audio_converter

    def call(self, x, y=None, sample_weight=None):
        x = self.audio_converter(x)
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    @classmethod
    def from_config(cls, config):
        converter = config.get("audio_converter")
        if isinstance(converter, dict):
            config["audio_converter"] = keras.layers.deserialize(converter)
        return cls(**config)

    @property
    def clip_samples(self):
        return self.audio_converter.clip_samples

    @property
    def sample_rate(self):
        return self.audio_converter.sample_rate


def audio_preprocessor(clip_samples, sample_rate):
    """The preprocessor of an `AudioClassifier`: waveforms padded with
    zeros or cropped to `clip_samples` (see `WaveformConverter`).

    Args:
        clip_samples: int. Samples per clip.
        sample_rate: int. The model's sample rate.

    Returns:
        AudioClassifierPreprocessor.

    Example:

    >>> audio_preprocessor(16000, 16000).clip_samples
    16000
    """
    return AudioClassifierPreprocessor(
        WaveformConverter(clip_samples, sample_rate)
    )


def _network_sizes(backbone):
    """`(sample_rate, clip_samples)` of a waveform backbone, or
    `(None, None)` for one on precomputed features."""
    try:
        log_mel = backbone.get_layer("log_mel")
    except ValueError:
        return None, None
    return int(log_mel.sample_rate), int(backbone.input.shape[-1])


@keras.saving.register_keras_serializable(package="keras_attn")
class AudioClassifier(ClassifierTask, keras_hub.models.Task):
    """An attention audio classifier that fits and predicts on waveforms.

    keras-hub's task shape: a backbone (`audio_backbone`: log-mel
    spectrogram, frames as tokens, Transformer encoder), a preprocessor
    (`audio_preprocessor`: clips padded with zeros or cropped to the
    model's `clip_samples`) and the head of `audio_classifier`, in one
    functional model. `fit`, `predict` and `evaluate` take mono float
    waveforms in [-1, 1] at the model's `sample_rate`: a
    `(batch, samples)` array, or a list of clips of any lengths; labels
    are class ids, or class names when the task has them. The class names
    and the clip length are saved inside the `.keras` file. Outputs are
    logits; `classify` gives names and probabilities.

    A backbone on precomputed features (`num_features`) has no
    preprocessor: it takes the dict of `features` and `padding_mask`.

    Compiled by default with Adam (1e-3; these models train from
    scratch), cross-entropy on logits and accuracy.

    Args:
        backbone: a model from `audio_backbone`.
        num_classes: int, or None when `class_names` is given.
        preprocessor: an `AudioClassifierPreprocessor`, or None (the task
            then takes the backbone's inputs as they are).
        class_names: optional list of str, one per output, in order.
        **kwargs: `name`, `compile` and the rest of keras-hub's `Task`.

    Example:

    >>> import numpy as np
    >>> classifier = AudioClassifier.from_preset(
    ...     "audio_tiny", class_names=["kick", "snare"], num_layers=1,
    ...     sample_rate=8000, clip_samples=2000, frame_length=200,
    ...     frame_step=100, fft_length=256)
    >>> clips = [np.zeros(1500, "float32"), np.zeros(2500, "float32")]
    >>> classifier.predict(clips, verbose=0).shape
    (2, 2)
    >>> classifier.sample_rate, classifier.clip_samples
    (8000, 2000)
    """

    def __init__(
        self,
        backbone,
        num_classes=None,
        preprocessor=None,
        class_names=None,
        **kwargs,
    ):
        class_names, num_classes = check_class_names(class_names, num_classes)
        if num_classes < 1:
            raise ValueError(
                f"`num_classes` must be a positive int; received {num_classes}."
            )
        self.backbone = backbone
        self.preprocessor = preprocessor
        logits = classifier_logits(backbone, num_classes)  # (B, C)
        kwargs.setdefault("name", "audio_classifier")
        keras_hub.models.Task.__init__(
            self, inputs=backbone.input, outputs=logits, **kwargs
        )
        self.num_classes = num_classes
        self.class_names = class_names

    def get_config(self):
        config = keras_hub.models.Task.get_config(self)
        config.update(
            num_classes=self.num_classes, class_names=self.class_names
        )
        return config

    @property
    def sample_rate(self):
        """Samples per second the model expects (None on features)."""
        return _network_sizes(self.backbone)[0]

    @property
    def clip_samples(self):
        """Samples per clip the network takes (None on features)."""
        return _network_sizes(self.backbone)[1]

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        metrics="auto",
        **kwargs,
    ):
        """Keras's `compile`, with `"auto"` as Adam (1e-3), sparse
        cross-entropy on logits and accuracy."""
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy("accuracy")]
        keras.Model.compile(
            self, optimizer=optimizer, loss=loss, metrics=metrics, **kwargs
        )

    def _waveforms(self, x):
        """`x` as the preprocessor's batch: lists of clips padded or
        cropped here, arrays checked; datasets and dicts as they are."""
        if (
            x is None
            or self.preprocessor is None
            or isinstance(x, dict)
            or _is_dataset(x)
        ):
            return x
        return pad_or_crop(x, self.clip_samples)

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """`ClassifierTask.fit` on waveforms (see the class)."""
        if isinstance(validation_data, tuple) and validation_data:
            validation_data = (
                self._waveforms(validation_data[0]),
                *validation_data[1:],
            )
        return super().fit(
            self._waveforms(x), y, validation_data=validation_data, **kwargs
        )

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(self._waveforms(x), y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """Logits `(batch, classes)` of waveforms (see the class)."""
        return super().predict(self._waveforms(x), *args, **kwargs)

    @classmethod
    def from_preset(
        cls, preset, num_classes=None, class_names=None, **overrides
    ):
        """A new classifier from a key of `AUDIO_PRESETS` (random weights;
        nothing is downloaded) and `audio_config` overrides such as
        `sample_rate`, `clip_samples` or `num_mel_bins`."""
        config = audio_config(preset, **overrides)
        preprocessor = None
        if config["num_features"] is None:
            preprocessor = audio_preprocessor(
                config["clip_samples"], config["sample_rate"]
            )
        return cls(
            audio_backbone(**config),
            num_classes,
            preprocessor=preprocessor,
            class_names=class_names,
        )

    @classmethod
    def from_network(cls, model, preprocessor=None, class_names=None):
        """The task over an `audio_classifier` model, sharing its weights
        (how a `keras-attn train audio-classifier` run folder loads).
        Without `preprocessor`, a waveform model gets
        `audio_preprocessor` of its own clip length and sample rate."""
        backbone = model.get_layer("audio_backbone")
        if preprocessor is None:
            sample_rate, clip_samples = _network_sizes(backbone)
            if clip_samples is not None:
                preprocessor = audio_preprocessor(clip_samples, sample_rate)
        task = cls(
            backbone,
            model.output_shape[-1],
            preprocessor=preprocessor,
            class_names=class_names,
            name=model.name,
        )
        task.get_layer("logits").set_weights(
            model.get_layer("logits").get_weights()
        )
        return task
