import numbers

import keras
import numpy as np
from keras import ops

from keras_attn.layers import _validation as check


def hertz_to_mel(hertz):
    """The HTK mel scale, `1127 * ln(1 + f / 700)` (as `tf.signal`)."""
    return 1127.0 * np.log1p(np.asarray(hertz, "float64") / 700.0)


def mel_weight_matrix(
    num_mel_bins, num_spectrogram_bins, sample_rate, lower_hertz, upper_hertz
):
    """`(num_spectrogram_bins, num_mel_bins)` float64 triangular filters
    on the HTK mel scale, the formula `tf.signal.linear_to_mel_weight_matrix`
    uses: band edges evenly spaced in mel from `lower_hertz` to
    `upper_hertz`, each band a triangle over the linear bins' mel values
    (0 at its outer edges, 1 at its centre); the DC bin gets no weight."""
    nyquist = sample_rate / 2.0
    linear_hertz = np.linspace(0.0, nyquist, num_spectrogram_bins)[1:]
    bins_mel = hertz_to_mel(linear_hertz)[:, None]  # (bins - 1, 1)
    edges = np.linspace(
        hertz_to_mel(lower_hertz), hertz_to_mel(upper_hertz), num_mel_bins + 2
    )
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]  # (mels,)
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.concatenate([np.zeros((1, num_mel_bins)), weights], axis=0)


def periodic_hann(length):
    """`0.5 - 0.5 cos(2 pi n / length)` for n < length, float64: the
    periodic Hann window of `tf.signal.hann_window` and `scipy`."""
    n = np.arange(length, dtype="float64")
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"`{name}` must be a number; received {name}={value!r}."
        )
    return value


@keras.saving.register_keras_serializable(package="keras_attn")
class LogMelSpectrogram(keras.layers.Layer):
    """Log-mel spectrogram of a waveform, in operators phones accelerate.

    Frames of `frame_length` samples every `frame_step` samples (no end
    padding, as `tf.signal.stft(..., pad_end=False)`), the periodic Hann
    window `0.5 - 0.5 cos(2 pi n / frame_length)` (as scipy and librosa;
    for an odd `frame_length`, `tf.signal.hann_window` gives the
    symmetric one), a DFT of `fft_length` points (each frame
    zero-padded), the
    power spectrum `re^2 + im^2`, triangular filters on the HTK mel scale
    (the matrix of `tf.signal.linear_to_mel_weight_matrix`) and
    `log(mel_power + log_offset)`.

    The framing, window and DFT are one strided convolution whose kernel
    `(frame_length, 1, 2 * bins)` holds `window * cos` and `-window * sin`
    for the `fft_length // 2 + 1` bins, and the filter bank is a matrix
    product; a TFLite file holds CONV_2D, FULLY_CONNECTED, MUL, ADD and
    LOG, which LiteRT's GPU accelerator and Qualcomm's NPU compiler take
    whole. The kernel and the filter bank are computed from the arguments
    in float64 NumPy and are not weights (the layer has none). The layer
    computes in float32 whatever its dtype policy and returns its compute
    dtype, so under `mixed_float16` the power spectrum does not overflow.

    Why not Keras's layers (one-layer models of 1 s clips through
    `keras_attn.export.to_tflite` and Keras's `model.export`, LiteRT 2.3,
    `benchmarks/audio_front_end.py`): `keras.layers.MelSpectrogram` takes
    `ops.stft`, which becomes RFFT2D and complex tensors: LiteRT's GPU
    accelerator refuses 12 of its 24 operators (RFFT2D, REAL, IMAG, a
    2-D GATHER, ...) and Qualcomm's NPU compiler fails on it for every
    SoC. `keras.layers.STFTSpectrogram` is the same convolution as here
    and runs whole on both, but it stops at magnitudes or log-magnitudes
    (no mel bank; a clamp at 1e-7, below float16's normal range, instead
    of an offset; its float16 GPU output is 1.4 off its CPU output on
    white noise), its kernels are trainable weights, and it reshapes to
    channels-first and back (3 TRANSPOSEs); what it would give this layer
    is one `ops.conv` call, so the layer makes that call itself.

    In a `.tflite` file written by `keras_attn.export.to_tflite`, the
    layer is computed by a lowered form (`export._forms.log_mel_spectrogram`)
    of the same numbers whose every tensor stays inside float16's normal
    range, for LiteRT's GPU accelerator, which computes in float16 by
    default.

    Args:
        sample_rate: int. Samples per second of the input. Defaults to
            16000.
        frame_length: int. Samples per frame (the window's length).
            Defaults to 400 (25 ms at 16 kHz).
        frame_step: int. Samples between frame starts. Defaults to 160
            (10 ms at 16 kHz).
        fft_length: int. DFT points, at least `frame_length`. Defaults to
            512.
        num_mel_bins: int. Mel bands. Defaults to 40.
        lower_edge_hertz: float. Lower edge of the lowest band, in
            `[0, sample_rate / 2)`. Defaults to 20.0.
        upper_edge_hertz: float or None. Upper edge of the highest band,
            above `lower_edge_hertz` and at most `sample_rate / 2`; None
            means `sample_rate / 2`. Defaults to None.
        log_offset: float. Added to the mel power before the log, so
            silence gives `log(log_offset)`. Defaults to 1e-6.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, samples)` float waveform in [-1, 1] with at least
            `frame_length` samples.

    Returns:
        `(batch, frames, num_mel_bins)` log-mel power, with
        `frames = 1 + (samples - frame_length) // frame_step`.

    Example:

    >>> import numpy as np
    >>> layer = LogMelSpectrogram(num_mel_bins=8)
    >>> t = np.arange(16000) / 16000
    >>> wave = np.sin(2 * np.pi * 440 * t)[None].astype("float32")
    >>> log_mel = layer(wave)
    >>> np.asarray(log_mel).shape
    (1, 98, 8)
    >>> int(np.argmax(np.asarray(log_mel)[0, 50]))  # 440 Hz: band 1 of 8
    1

    References:
        - S. Young et al., "The HTK Book", section 5.4 (the mel scale and
          the triangular filter bank).
        - `tf.signal.stft` and `tf.signal.linear_to_mel_weight_matrix`,
          which this layer equals within 1e-4 (tests).
    """

    def __init__(
        self,
        sample_rate=16000,
        frame_length=400,
        frame_step=160,
        fft_length=512,
        num_mel_bins=40,
        lower_edge_hertz=20.0,
        upper_edge_hertz=None,
        log_offset=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = check.positive_int("sample_rate", sample_rate)
        self.frame_length = check.positive_int("frame_length", frame_length)
        self.frame_step = check.positive_int("frame_step", frame_step)
        self.fft_length = check.positive_int("fft_length", fft_length)
        self.num_mel_bins = check.positive_int("num_mel_bins", num_mel_bins)
        if frame_length > fft_length:
            raise ValueError(
                "`frame_length` must be at most `fft_length` (a frame is "
                "zero-padded to the DFT size); received frame_length="
                f"{frame_length} and fft_length={fft_length}."
            )
        nyquist = sample_rate / 2.0
        _number("lower_edge_hertz", lower_edge_hertz)
        if not 0.0 <= lower_edge_hertz < nyquist:
            raise ValueError(
                "`lower_edge_hertz` must be in [0, sample_rate / 2) = "
                f"[0, {nyquist:g}); received lower_edge_hertz="
                f"{lower_edge_hertz!r}."
            )
        if upper_edge_hertz is not None:
            _number("upper_edge_hertz", upper_edge_hertz)
            if not lower_edge_hertz < upper_edge_hertz <= nyquist:
                raise ValueError(
                    "`upper_edge_hertz` must be above lower_edge_hertz="
                    f"{lower_edge_hertz:g} and at most the Nyquist "
                    f"frequency sample_rate / 2 = {nyquist:g} (or None); "
                    f"received upper_edge_hertz={upper_edge_hertz!r}."
                )
        self.lower_edge_hertz = lower_edge_hertz
        self.upper_edge_hertz = upper_edge_hertz
        self.log_offset = check.positive_float("log_offset", log_offset)
        self._constants = None

    @property
    def num_spectrogram_bins(self):
        """DFT bins kept: `fft_length // 2 + 1` (0 Hz to Nyquist)."""
        return self.fft_length // 2 + 1

    def num_frames(self, samples):
        """Frames of a clip of `samples` samples (None if unknown)."""
        if samples is None:
            return None
        return 1 + (samples - self.frame_length) // self.frame_step

    def dft_kernel(self):
        """`(frame_length, 1, 2 * bins)` float64 convolution kernel:
        `window * cos` for the real parts of bins 0 .. fft_length / 2,
        then `-window * sin` for their imaginary parts."""
        n = np.arange(self.frame_length, dtype="float64")[:, None]
        k = np.arange(self.num_spectrogram_bins, dtype="float64")[None]
        # (n * k) mod fft_length keeps the angle small, so cos and sin
        # are accurate for every bin.
        angle = 2.0 * np.pi * ((n * k) % self.fft_length) / self.fft_length
        window = periodic_hann(self.frame_length)[:, None]
        kernel = np.concatenate(
            [window * np.cos(angle), -window * np.sin(angle)], axis=1
        )
        return kernel[:, None, :]

    def mel_matrix(self):
        """`(bins, num_mel_bins)` float64 mel filter bank."""
        upper = self.upper_edge_hertz
        if upper is None:
            upper = self.sample_rate / 2.0
        return mel_weight_matrix(
            self.num_mel_bins,
            self.num_spectrogram_bins,
            self.sample_rate,
            self.lower_edge_hertz,
            upper,
        )

    def _check_samples(self, samples):
        if samples is not None and samples < self.frame_length:
            raise ValueError(
                f"{self.__class__.__name__} needs clips of at least "
                f"frame_length={self.frame_length} samples (one frame); "
                f"received {samples} samples."
            )

    def build(self, inputs_shape):
        check.check_rank(
            self.__class__.__name__,
            "inputs",
            inputs_shape,
            2,
            "(batch, samples)",
        )
        self._check_samples(inputs_shape[1])
        self.built = True

    def _float32_constants(self):
        if self._constants is None:
            self._constants = (
                self.dft_kernel().astype("float32"),
                self.mel_matrix().astype("float32"),
            )
        return self._constants

    def call(self, inputs):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "float" not in dtype:
            raise TypeError(
                f"{self.__class__.__name__} expects float waveforms in "
                f"[-1, 1]; received dtype {dtype} (divide 16-bit PCM by "
                "32768)."
            )
        self._check_samples(inputs.shape[1])
        kernel, mel = self._float32_constants()
        bins = self.num_spectrogram_bins
        x = ops.cast(inputs, "float32")[:, :, None]  # (B, S, 1)
        spectrum = ops.conv(
            x, kernel, strides=self.frame_step, padding="valid"
        )  # (B, F, 2 * bins)
        real, imag = spectrum[..., :bins], spectrum[..., bins:]
        power = real * real + imag * imag  # (B, F, bins)
        mel_power = ops.matmul(power, mel)  # (B, F, mels)
        log_mel = ops.log(mel_power + self.log_offset)
        return ops.cast(log_mel, self.compute_dtype)

    def compute_output_shape(self, inputs_shape):
        return (
            inputs_shape[0],
            self.num_frames(inputs_shape[1]),
            self.num_mel_bins,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sample_rate": self.sample_rate,
                "frame_length": self.frame_length,
                "frame_step": self.frame_step,
                "fft_length": self.fft_length,
                "num_mel_bins": self.num_mel_bins,
                "lower_edge_hertz": self.lower_edge_hertz,
                "upper_edge_hertz": self.upper_edge_hertz,
                "log_offset": self.log_offset,
            }
        )
        return config
