"""Resampling at an exact rational ratio (private): `resample`.

A polyphase Kaiser-windowed sinc filter, the one `audio.resample_audio`
documents. Output sample m lies at input time `m * down / up` with
`up / down` the ratio of the rates in lowest terms; its fraction is one
of `up` phases, each with its row of filter taps, so the filter is
computed once per phase and every output is a dot product of a window
of the input with its phase's row.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# A sinc cut off at this share of the lower rate's Nyquist frequency,
# windowed by a Kaiser window of this beta over this many zero crossings
# (of the lower rate) on each side: flat within 0.001 dB up to 0.8 of the
# lower Nyquist, -0.5 dB at 0.9, below -99 dB from 1.05 on.
ROLLOFF = 0.95
KAISER_BETA = 10.0
ZERO_CROSSINGS = 32


def _kaiser(x):
    """The Kaiser window at x in [-1, 1] (0 outside)."""
    inside = np.clip(1.0 - x * x, 0.0, None)
    return np.i0(KAISER_BETA * np.sqrt(inside)) / np.i0(KAISER_BETA)


def resample(x, source_rate, target_rate):
    """`x` float32 `(samples,)` or `(samples, channels)` from
    `source_rate` to `target_rate` (positive ints); zeros beyond the
    ends; `ceil(samples * target_rate / source_rate)` samples out."""
    common = math.gcd(source_rate, target_rate)
    up, down = target_rate // common, source_rate // common
    if up == down:
        return x
    count = -(-len(x) * up // down)
    # The filter in units of input samples: output m = sum over input n
    # of x[n] h(t_m - n), t_m = m * down / up.
    scale = min(1.0, up / down)
    cutoff = ROLLOFF * scale
    half = math.ceil(ZERO_CROSSINGS / scale)
    taps = np.arange(-half + 1, half + 1)
    offsets = np.arange(up)[:, None] / up - taps[None, :]  # (up, taps)
    filters = cutoff * np.sinc(cutoff * offsets) * _kaiser(offsets / half)
    edge = np.zeros((half,) + x.shape[1:])
    padded = np.concatenate([edge, x, edge])
    # windows[i] = padded[i : i + taps] (a view); output m's window starts
    # at base + 1, base = floor(t_m).
    windows = sliding_window_view(padded, len(taps), axis=0)
    out = np.empty((count,) + x.shape[1:], np.float32)
    # Outputs m0, m0 + up, m0 + 2 up, ... share a phase, and their windows
    # start `down` apart: one strided view and one matrix product each.
    for m0 in range(min(up, count)):
        base, phase = divmod(m0 * down, up)
        last = base + 1 + (len(range(m0, count, up)) - 1) * down
        out[m0::up] = windows[base + 1 : last + 1 : down] @ filters[phase]
    return out
