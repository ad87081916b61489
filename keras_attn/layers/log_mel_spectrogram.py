import keras
import numpy as np
from keras import ops

from keras_attn.layers import _validation as check


def hertz_to_mel(hertz):
    """The HTK mel scale, `1127 * ln(1 + f / 700)` (as `tf.signal`)."""
    return 1127.0 * np.log1p(np.asarray(hertz, "float64") / 700.0)


def mel_weight_matrix(
    num_mel_bins, num_spectrogram_bins, sample_rate, lower_hz, upper_hz
):
    """`(num_spectrogram_bins, num_mel_bins)` triangular filters on the HTK
    mel scale, the formula of `tf.signal.linear_to_mel_weight_matrix`
    computed in float64: bands evenly spaced in mel between the edges,
    each a triangle over the linear bins' mel values; the DC bin gets no
    weight."""
    nyquist = sample_rate / 2.0
    linear_hz = np.linspace(0.0, nyquist, num_spectrogram_bins)[1:]
    bins_mel = hertz_to_mel(linear_hz)[:, None]  # (bins - 1, 1)
    edges = np.linspace(
        hertz_to_mel(lower_hz), hertz_to_mel(upper_hz), num_mel_bins + 2
    )
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]  # (mels,)
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.concatenate([np.zeros((1, num_mel_bins)), weights], axis=0)


def periodic_hann(length):
    """`0.5 - 0.5 cos(2 pi n / length)`, as `tf.signal.hann_window`."""
    n = np.arange(length, dtype="float64")
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)


@keras.saving.register_keras_serializable(package="keras_attn")
class LogMelSpectrogram(keras.layers.Layer):
    """Log-mel spectrogram of a waveform, in ops every phone runtime runs.

    Frames of `frame_length` samples every `frame_step` samples (no end
    padding), a periodic Hann window, a real DFT of `fft_length` points
    (the frame zero-padded), the power spectrum, triangular mel filters on
    the HTK scale (`tf.signal.linear_to_mel_weight_matrix`) and
    `log(mel_power + log_offset)`.

    The framing, window and DFT are one strided convolution whose kernel
    holds `window * cos` and `window * sin` (`(frame_length, 1,
    2 * bins)`), and the filter bank is a matrix product: TFLite lowers
    them to CONV_2D and FULLY_CONNECTED / BATCH_MATMUL, which LiteRT's GPU
    accelerator and NPU compilers run, where an FFT becomes RFFT2D, which
    runs on the CPU only. The constants are computed from the arguments
    (NumPy, float64) and are not weights: the layer has none.

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
        lower_edge_hertz: float. Lower edge of the lowest band. Defaults
            to 20.0.
        upper_edge_hertz: float or None. Upper edge of the highest band,
            at most `sample_rate / 2`; None means `sample_rate / 2`.
            Defaults to None.
        log_offset: float. Added to the mel power before the log, so
            silence gives `log(log_offset)`. Defaults to 1e-6.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, samples)` waveform, floats in [-1, 1], with
            `samples >= frame_length`.

    Returns:
        `(batch, frames, num_mel_bins)` log-mel power, with
        `frames = 1 + (samples - frame_length) // frame_step`.

    Example:

    >>> import numpy as np
    >>> layer = LogMelSpectrogram(num_mel_bins=8)
    >>> t = np.arange(16000) / 16000
    >>> wave = np.sin(2 * np.pi * 440 * t)[None].astype("float32")
    >>> layer(wave).shape
    (1, 98, 8)

    References:
        - S. Young et al., "The HTK Book", section 5.4 (the mel scale and
          its triangular filter bank).
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
                f"zero-padded to the DFT size); received frame_length="
                f"{frame_length} and fft_length={fft_length}."
            )
        nyquist = sample_rate / 2.0
        if lower_edge_hertz is None or isinstance(lower_edge_hertz, bool):
            raise ValueError(
                "`lower_edge_hertz` must be a number >= 0; received "
                f"lower_edge_hertz={lower_edge_hertz!r}."
            )
        if not 0.0 <= lower_edge_hertz < nyquist:
            raise ValueError(
                "`lower_edge_hertz` must be in [0, sample_rate / 2 = "
                f"{nyquist:g}); received lower_edge_hertz="
                f"{lower_edge_hertz!r}."
            )
        upper = nyquist if upper_edge_hertz is None else upper_edge_hertz
        if isinstance(upper, bool) or not lower_edge_hertz < upper <= nyquist:
            raise ValueError(
                "`upper_edge_hertz` must be above `lower_edge_hertz` "
                f"({lower_edge_hertz:g}) and at most the Nyquist frequency "
                f"sample_rate / 2 = {nyquist:g}, or None; received "
                f"upper_edge_hertz={upper_edge_hertz!r}."
            )
        self.lower_edge_hertz = lower_edge_hertz
        self.upper_edge_hertz = upper_edge_hertz
        self.log_offset = check.positive_float("log_offset", log_offset)

    @property
    def num_spectrogram_bins(self):
        return self.fft_length // 2 + 1

    def num_frames(self, samples):
        """Frames for a clip of `samples` samples (None if unknown)."""
        if samples is None:
            return None
        return 1 + (samples - self.frame_length) // self.frame_step

    def _check_samples(self, samples):
        if samples is not None and samples < self.frame_length:
            raise ValueError(
                f"{self.__class__.__name__} needs at least frame_length="
                f"{self.frame_length} samples per clip (one frame); "
                f"received {samples}."
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

    def dft_kernel(self):
        """`(frame_length, 1, 2 * bins)` float64: window * cos, then
        window * -sin, for bins 0 .. fft_length / 2."""
        n = np.arange(self.frame_length, dtype="float64")[:, None]
        k = np.arange(self.num_spectrogram_bins, dtype="float64")[None]
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

    def call(self, inputs):
        self._check_samples(inputs.shape[1])
        dtype = self.compute_dtype
        bins = self.num_spectrogram_bins
        kernel = ops.convert_to_tensor(self.dft_kernel().astype(dtype))
        mel = ops.convert_to_tensor(self.mel_matrix().astype(dtype))
        x = ops.cast(inputs, dtype)[:, :, None]  # (B, S, 1)
        spectrum = ops.conv(
            x, kernel, strides=self.frame_step, padding="valid"
        )  # (B, F, 2 * bins)
        real, imag = spectrum[..., :bins], spectrum[..., bins:]
        power = real * real + imag * imag  # (B, F, bins)
        mel_power = ops.matmul(power, mel)  # (B, F, mels)
        return ops.log(mel_power + self.log_offset)

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
