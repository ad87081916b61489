"""WAV decoding in NumPy (private): `decode_wav(data)`.

A RIFF/WAVE file is a list of chunks; this reads `fmt ` and `data` and
steps over every other chunk (`LIST`, `fact`, `cue `, `bext`, ...). The
samples may be integer PCM of 8 (unsigned), 16, 24 or 32 bits, or IEEE
floats of 32 or 64 bits, plainly (format tags 1 and 3) or in a
WAVE_FORMAT_EXTENSIBLE header (tag 0xFFFE, whose sub-format names PCM or
float).
"""

import struct

import numpy as np


class WavError(ValueError):
    """A WAV file that cannot be decoded (the message says why)."""


_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
# The tail every WAVE_FORMAT_EXTENSIBLE sub-format GUID shares.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_FORMAT_NAMES = {2: "ADPCM", 6: "A-law", 7: "mu-law", 0x55: "MP3"}


def _chunks(data):
    """(id, body) of every chunk after the RIFF/WAVE header."""
    position = 12
    while position + 8 <= len(data):
        name = data[position : position + 4]
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        body = data[position + 8 : position + 8 + size]
        yield name, body
        position += 8 + size + (size & 1)  # chunks are word aligned


def _format(body):
    if len(body) < 16:
        raise WavError(f"a 'fmt ' chunk of {len(body)} bytes, expected 16+")
    tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 40 or body[26:40] != _GUID_TAIL:
            raise WavError(
                "a WAVE_FORMAT_EXTENSIBLE header without a PCM or float "
                "sub-format"
            )
        tag = int.from_bytes(body[24:26], "little")
    if tag not in (_PCM, _FLOAT):
        name = _FORMAT_NAMES.get(tag, f"format tag {tag}")
        raise WavError(
            f"expected PCM or IEEE float samples, found {name} "
            f"(compressed WAV is not read)"
        )
    if channels == 0 or rate == 0:
        raise WavError(f"the header says {channels} channels at {rate} Hz")
    width = align // channels if align % channels == 0 else 0
    valid = {_PCM: (1, 2, 3, 4), _FLOAT: (4, 8)}[tag]
    if width not in valid:
        kind = "PCM" if tag == _PCM else "float"
        raise WavError(
            f"{kind} samples of {bits} bits in blocks of {align} bytes "
            f"for {channels} channels; expected "
            f"{', '.join(str(8 * w) for w in valid)}-bit samples"
        )
    return tag, channels, rate, width


def decode_wav(data):
    """Decodes a whole WAV file.

    Args:
        data: bytes. The file.

    Returns:
        `(samples, sample_rate)`: float32 `(frames, channels)`; integer
        samples are scaled by 1 / 2^(bits - 1) (8-bit ones, unsigned,
        first offset by 128) into [-1, 1); float samples as stored.
    """
    data = bytes(data)
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(
            f"expected the WAV markers b'RIFF' ... b'WAVE', found "
            f"{data[:4]!r} ... {data[8:12]!r}"
        )
    layout = None
    samples = None
    for name, body in _chunks(data):
        if name == b"fmt ":
            layout = _format(body)
        elif name == b"data":
            if layout is None:
                raise WavError("a 'data' chunk before the 'fmt ' chunk")
            samples = body
            break
    if layout is None:
        raise WavError("no 'fmt ' chunk (the header is damaged)")
    if samples is None:
        raise WavError("no 'data' chunk")
    tag, channels, rate, width = layout
    # A data chunk cut short (a recording that stopped) keeps its whole
    # frames.
    frames = len(samples) // (width * channels)
    raw = np.frombuffer(samples, np.uint8, count=frames * width * channels)
    if tag == _FLOAT:
        values = raw.view("<f4" if width == 4 else "<f8")
        if not np.all(np.isfinite(values)):
            raise WavError("float samples that are not finite (NaN or inf)")
        values = values.astype(np.float32)
    elif width == 1:
        values = (raw.astype(np.float32) - 128) / np.float32(128)
    elif width == 3:
        # Little-endian 24-bit: put each sample in the top 3 bytes of an
        # int32, so its sign comes along.
        padded = np.zeros((frames * channels, 4), np.uint8)
        padded[:, 1:] = raw.reshape(-1, 3)
        values = padded.view("<i4")[:, 0].astype(np.float32)
        values /= np.float32(2.0**31)
    else:
        values = raw.view("<i2" if width == 2 else "<i4")
        values = values.astype(np.float32) / np.float32(2.0 ** (8 * width - 1))
    return values.reshape(frames, channels), rate
