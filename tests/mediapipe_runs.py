"""MediaPipe Tasks classifiers on a file, as an app calls them (tests'
helper): strings go to `TextClassifier`, uint8 RGB images to
`ImageClassifier`, audio samples to `AudioClassifier`; and what MediaPipe
does to a clip before its model (`qresample`, `mediapipe_windows`)."""

from fractions import Fraction

import numpy as np


def classifier_scores(path, inputs, labels):
    """`(len(inputs), len(labels))` scores in label order, each category
    checked to carry its label's name (NaN where MediaPipe gave none)."""
    import mediapipe
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python import text
    from mediapipe.tasks.python import vision

    images = not isinstance(inputs[0], str)
    task = vision.ImageClassifier if images else text.TextClassifier
    options = (vision.ImageClassifierOptions if images else
               text.TextClassifierOptions)(
        base_options=BaseOptions(model_asset_path=str(path)),
        max_results=len(labels),
    )  # fmt: skip
    scores = np.full((len(inputs), len(labels)), np.nan)
    with task.create_from_options(options) as classifier:
        for row, given in enumerate(inputs):
            if images:
                given = mediapipe.Image(
                    image_format=mediapipe.ImageFormat.SRGB,
                    data=np.ascontiguousarray(given),
                )
            (head,) = classifier.classify(given).classifications
            for category in head.categories:
                assert category.category_name == labels[category.index]
                scores[row, category.index] = category.score
    return scores


def audio_scores(path, clip, sample_rate, labels):
    """MediaPipe's `AudioClassifier` (clips mode) on one clip (samples, or
    `(samples, channels)`) at `sample_rate`: the results' `timestamp_ms`
    and their `(windows, len(labels))` scores in label order, each
    category checked to carry its label's name."""
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python import audio
    from mediapipe.tasks.python.components.containers import AudioData

    options = audio.AudioClassifierOptions(
        base_options=BaseOptions(model_asset_path=str(path)),
        running_mode=audio.RunningMode.AUDIO_CLIPS,
        max_results=len(labels),
    )
    with audio.AudioClassifier.create_from_options(options) as classifier:
        results = classifier.classify(
            AudioData.create_from_array(
                np.asarray(clip, "float32"), sample_rate
            )
        )
    scores = np.full((len(results), len(labels)), np.nan)
    for row, result in enumerate(results):
        (head,) = result.classifications
        for category in head.categories:
            assert category.category_name == labels[category.index]
            scores[row, category.index] = category.score
    return [result.timestamp_ms for result in results], scores


# -- What MediaPipe 1.2 does to a clip before the model, as a reference -------
#
# Read from its source, not from ours: AudioToTensorCalculator
# (mediapipe/calculators/tensor/audio_to_tensor_calculator.cc) averages
# the channels to mono, resamples with audio_dsp::QResampleSignal when the
# clip's rate is not the metadata's (google/multichannel-audio-tools,
# audio/dsp/resampler_q.{h,cc} and portable/rational_factor_resampler_
# kernel.c, default QResamplerParams), then cuts back-to-back windows of
# the input's size (no overlap: audio_tensor_specs.cc sets none) and pads
# the last one with zeros.


def _bessel_i0(x):
    """I0(x) summed as rational_factor_resampler_kernel.c sums it."""
    squared, term, total = x * x, 1.0, 1.0
    for k in range(2, 80, 2):
        term *= squared / (k * k)
        if term < np.finfo(float).eps * total:
            break
        total += term
    return total


def qresample(clip, rate_in, rate_out, radius_factor=5.0, cutoff=0.9,
              beta=6.0, max_denominator=1000):  # fmt: skip
    """`audio_dsp::QResampleSignal` of a mono clip with MediaPipe's
    (default) parameters: a Kaiser-windowed sinc (radius `radius_factor`
    samples of the slower rate, cutoff `cutoff` of the lower Nyquist
    frequency), polyphase over the rational approximation a/b of
    `rate_in / rate_out`, the stream primed with `radius` zeros and
    flushed with `2 * radius` more: ceil((n + radius) * b / a) samples."""
    # The C++ takes float parameters and computes in double.
    rate_in, rate_out, radius_factor, cutoff, beta = (
        float(np.float32(value))
        for value in (rate_in, rate_out, radius_factor, cutoff, beta)
    )
    factor = rate_in / rate_out
    widest = max(factor, 1.0)
    radius = radius_factor * widest
    theta = cutoff / widest
    scale = theta / _bessel_i0(beta)

    def kernel(x):
        x = abs(x)
        omega = np.pi * theta * x
        sinc = 1.0 if omega < 1e-8 else np.sin(omega) / omega
        u = x / radius
        if u > 1.0 + 100 * np.finfo(float).eps:
            return 0.0
        return scale * sinc * _bessel_i0(beta * np.sqrt(max(1 - u * u, 0.0)))

    ratio = Fraction(factor).limit_denominator(max_denominator)
    a, b = ratio.numerator, ratio.denominator
    r = int(np.ceil(radius))
    taps = np.arange(-r, r + 1)
    # Phase p's filter, taps in input order: h(p / b - k) for k = -r..r.
    filters = np.array(
        [[kernel(p / b - k) for k in taps] for p in range(b)], "float32"
    )
    n = len(clip)
    padded = np.concatenate(
        [np.zeros(r), np.asarray(clip, "float64"), np.zeros(2 * r)]
    )
    count = -(-(n + r) * b // a)
    steps = np.arange(count) * a
    starts, phases = steps // b, steps % b
    windows = padded[starts[:, None] + np.arange(2 * r + 1)]
    return np.sum(windows * filters[phases], axis=1).astype("float32")


def mediapipe_windows(samples, window):
    """`samples` cut into back-to-back windows of `window`, the last one
    padded with zeros: `(count, window)`."""
    count = max(1, -(-len(samples) // window))
    padded = np.zeros(count * window, "float32")
    padded[: len(samples)] = samples
    return padded.reshape(count, window)
