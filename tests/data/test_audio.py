"""Reading WAV and FLAC, resampling, clips and folders of clips.

The references are none of ours: WAV files written by Python's `wave`
(and float ones packed by hand with `struct` after the RIFF layout);
FLAC files made by the reference encoder, Debian's `flac` 1.4.2, from
WAV files beside them (tests/fixtures/audio/make_fixtures.sh), checked
against those WAV files and against the MD5 of the samples the encoder
stores in STREAMINFO; FLAC features that encoder never writes (escape
codes, variable block sizes) in a stream built bit by bit here after
RFC 9639, with the predictions worked out by its formulas; the
resampler against `scipy.signal.resample_poly` and the sine itself.
"""

import hashlib
import pathlib
import re
import shutil
import struct
import wave

import numpy as np
import pytest
from scipy.signal import resample_poly

from keras_attn import data
from keras_attn.data import _flac
from keras_attn.data import audio
from keras_attn.data.audio import AudioFileError
from keras_attn.data.audio import AudioSet
from keras_attn.data.audio import audio_dataset
from keras_attn.data.audio import audio_folder
from keras_attn.data.audio import load_clip
from keras_attn.data.audio import read_audio
from keras_attn.data.audio import resample_audio

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "audio"


def write_wav(path, samples, rate, width):
    """Integer `samples` (frames, channels) to a PCM WAV with `wave`."""
    samples = np.asarray(samples, np.int64)
    if width == 1:
        raw = (samples + 128).astype(np.uint8).tobytes()
    elif width == 3:
        raw = samples.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
        raw = raw.tobytes()
    else:
        raw = samples.astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as file:
        file.setnchannels(samples.shape[1])
        file.setsampwidth(width)
        file.setframerate(rate)
        file.writeframes(raw)
    return path


def wave_ints(path):
    """The samples of a PCM WAV as ints (frames, channels), by `wave`."""
    with wave.open(str(path)) as file:
        width, channels = file.getsampwidth(), file.getnchannels()
        raw = np.frombuffer(file.readframes(file.getnframes()), np.uint8)
    if width == 1:
        values = raw.astype(np.int64) - 128
    elif width == 3:
        padded = np.zeros((len(raw) // 3, 4), np.uint8)
        padded[:, 1:] = raw.reshape(-1, 3)
        values = padded.view("<i4")[:, 0].astype(np.int64) >> 8
    else:
        values = raw.view(f"<i{width}").astype(np.int64)
    return values.reshape(-1, channels), 8 * width


def riff(*chunks):
    """A RIFF/WAVE file of `(id, body)` chunks, odd ones padded."""
    body = b"WAVE"
    for name, content in chunks:
        body += name + struct.pack("<I", len(content)) + content
        body += b"\0" * (len(content) & 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def raises_naming(path, pattern, call):
    with pytest.raises(AudioFileError) as caught:
        call()
    message = str(caught.value)
    assert str(path) in message and "\n" not in message, message
    assert re.search(pattern, message), message


# -------------------------------------------------------------------- WAV


@pytest.mark.parametrize(
    "width, channels", [(1, 1), (2, 1), (2, 2), (3, 2), (4, 1)]
)
def test_pcm_wav_written_by_wave_reads_back(tmp_path, width, channels):
    bits = 8 * width
    rng = np.random.default_rng(width * 10 + channels)
    ints = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), (300, channels))
    ints[0] = -(2 ** (bits - 1))  # the extremes
    ints[1] = 2 ** (bits - 1) - 1
    path = write_wav(tmp_path / "a.wav", ints, 22050, width)
    samples, rate = read_audio(path)
    assert rate == 22050 and samples.dtype == np.float32
    np.testing.assert_array_equal(
        samples, (ints / 2.0 ** (bits - 1)).astype(np.float32)
    )


@pytest.mark.parametrize("extensible", [False, True])
@pytest.mark.parametrize("width", [4, 8])
def test_float_wav_with_other_chunks(tmp_path, width, extensible):
    values = np.array([[0.0, -1.0], [0.25, 0.5], [-0.125, 1.0]])
    code = {4: "<f4", 8: "<f8"}[width]
    if extensible:
        # KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
        guid = b"\x03\x00\x00\x00\x00\x00\x10\x00"
        guid += b"\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = (
            struct.pack(
                "<HHIIHHHHI",
                0xFFFE,
                2,
                48000,
                48000 * 2 * width,
                2 * width,
                8 * width,
                22,
                8 * width,
                3,
            )
            + guid
        )
    else:
        fmt = struct.pack(
            "<HHIIHH", 3, 2, 48000, 48000 * 2 * width, 2 * width, 8 * width
        )
    file = riff(
        (b"JUNK", b"odd"),  # odd length: a pad byte follows
        (b"fmt ", fmt),
        (b"fact", struct.pack("<I", 3)),
        (b"LIST", b"INFOISFT\x05\x00\x00\x00test\x00\x00"),
        (b"data", values.astype(code).tobytes()),
    )
    path = tmp_path / "float.wav"
    path.write_bytes(file)
    samples, rate = read_audio(path)
    assert rate == 48000
    np.testing.assert_array_equal(samples, values.astype(np.float32))


def test_extensible_pcm_wav_matches_its_flac_and_the_encoders_md5():
    # The encoder read these WAVs (20 valid bits in 3 bytes, 12 in 2) and
    # stored the MD5 of the samples it read.
    for name, bits in (("pcm20", 20), ("pcm12", 12)):
        wav, wav_rate = read_audio(FIXTURES / f"{name}.wav")
        codes, info = _flac.decode_flac(
            (FIXTURES / f"{name}.flac").read_bytes()
        )
        assert info["bits"] == bits and wav_rate == info["sample_rate"]
        assert md5(codes, bits) == info["md5"]
        np.testing.assert_array_equal(wav, codes / 2.0 ** (bits - 1))


# ------------------------------------------------------------------- FLAC


def md5(codes, bits):
    """MD5 of samples as FLAC computes it: interleaved, little-endian,
    (bits + 7) // 8 bytes each."""
    width = (bits + 7) // 8
    raw = codes.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :width]
    return hashlib.md5(raw.tobytes()).digest()


# Each FLAC fixture, its source WAV, and what the encoder was made to use
# in it (the counts `decode_flac` keeps of what it decoded).
FLAC_FIXTURES = {
    "tone16": ("tone16", {"LPC12"}),
    "fixed24": ("fixed24", {f"FIXED{order}" for order in range(5)}),
    "stereo24_m": (
        "stereo24",
        {"independent", "left-side", "right-side", "mid-side"},
    ),
    "stereo24_independent": ("stereo24", {"independent"}),
    "lpc32": ("lpc32", set()),
    "tiny_blocks": ("tiny_blocks", set()),
    "pcm8": ("pcm8", {"VERBATIM"}),
    "constant": ("constant", {"CONSTANT"}),
    "pcm32": ("pcm32", {"rice2"}),
    "wasted": ("wasted", {"wasted"}),
}


@pytest.mark.parametrize("name", sorted(FLAC_FIXTURES))
def test_flac_fixture_equals_its_wav_and_md5(name):
    source, used = FLAC_FIXTURES[name]
    stats = {}
    codes, info = _flac.decode_flac(
        (FIXTURES / f"{name}.flac").read_bytes(), check_crc=True, stats=stats
    )
    expected, bits = wave_ints(FIXTURES / f"{source}.wav")
    assert info["bits"] == bits
    np.testing.assert_array_equal(codes, expected)
    assert md5(codes, bits) == info["md5"]
    assert used <= set(stats), stats
    samples, rate = read_audio(FIXTURES / f"{name}.flac")
    with wave.open(str(FIXTURES / f"{source}.wav")) as file:
        assert rate == file.getframerate()
    np.testing.assert_array_equal(
        samples, (expected / 2.0 ** (bits - 1)).astype(np.float32)
    )


def test_flac_fixtures_reach_high_lpc_orders_and_many_frames():
    stats = {}
    _flac.decode_flac((FIXTURES / "lpc32.flac").read_bytes(), stats=stats)
    orders = [int(kind[3:]) for kind in stats if kind.startswith("LPC")]
    assert max(orders) > 12, stats  # beyond the subset's limit
    stats = {}
    _flac.decode_flac((FIXTURES / "tiny_blocks.flac").read_bytes(), stats=stats)
    assert stats["independent"] == 150  # frame numbers up to 149: 2 bytes


class BitWriter:
    def __init__(self):
        self.bits = []

    def put(self, value, count):
        value &= (1 << count) - 1
        self.bits += [(value >> i) & 1 for i in range(count - 1, -1, -1)]

    def rice(self, value, parameter):
        folded = 2 * value if value >= 0 else -2 * value - 1
        self.bits += [0] * (folded >> parameter) + [1]
        self.put(folded, parameter)

    def utf8(self, number):
        if number < 0x80:
            self.put(number, 8)
            return
        length = 2
        while number >= 1 << (5 * length + 1):
            length += 1
        self.put(((1 << length) - 1) << 1, length + 1)
        self.put(number >> (6 * (length - 1)), 7 - length)
        for index in range(length - 2, -1, -1):
            self.put(0b10, 2)
            self.put(number >> (6 * index), 6)

    def align(self):
        self.bits += [0] * (-len(self.bits) % 8)

    def bytes(self):
        return np.packbits(np.array(self.bits, np.uint8)).tobytes()


def crc(data, polynomial, width):
    """The CRC bit by bit (the decoder's uses a table)."""
    value = 0
    for byte in data:
        value ^= byte << (width - 8)
        for _ in range(8):
            value <<= 1
            if value >> width:
                value ^= (1 << width) | polynomial
    return value


def frame(number, block_size, size_code, assignment, subframes, extra=()):
    """A frame of variable block size (the header carries the sample
    number); `subframes` writes into the BitWriter."""
    bits = BitWriter()
    bits.put(0b11111111111110, 14)
    bits.put(0, 1)
    bits.put(1, 1)  # variable block size: a sample number follows
    bits.put(size_code, 4)
    bits.put(14, 4)  # sample rate in tens of Hz, 16 bits, after
    bits.put(assignment, 4)
    bits.put(7, 3)  # 32 bits per sample
    bits.put(0, 1)
    bits.utf8(number)
    for value, count in extra:
        bits.put(value, count)
    bits.put(4411, 16)  # 44,110 Hz
    header = bits.bytes()
    bits.put(crc(header, 0x07, 8), 8)
    subframes(bits)
    bits.align()
    bits.put(crc(bits.bytes(), 0x8005, 16), 16)
    return bits.bytes()


def test_flac_features_the_encoder_does_not_write():
    rng = np.random.default_rng(3)
    left, right = [], []

    def first(bits):
        # FIXED order 1, Rice2 residual in 4 partitions: an escape with 0
        # bits (zeros), an escape with 7 bits, parameter 20, parameter 0.
        warmup = [-70000]
        residual = [0] * 24 + list(rng.integers(-64, 64, 25))
        residual += list(rng.integers(-(2**20), 2**20, 25))
        residual += list(rng.integers(-2, 3, 25))
        bits.put(0, 1), bits.put(0b001001, 6), bits.put(0, 1)
        bits.put(warmup[0], 32)
        bits.put(1, 2), bits.put(2, 4)
        bits.put(31, 5), bits.put(0, 5)
        bits.put(31, 5), bits.put(7, 5)
        for value in residual[24:49]:
            bits.put(value, 7)
        bits.put(20, 5)
        for value in residual[49:74]:
            bits.rice(value, 20)
        bits.put(0, 5)
        for value in residual[74:]:
            bits.rice(value, 0)
        left.extend(np.cumsum(warmup + residual))  # s[i] = r[i] + s[i-1]
        # CONSTANT -5 with 3 wasted bits (unary 2: "001").
        bits.put(0, 1), bits.put(0, 6), bits.put(1, 1), bits.put(0b001, 3)
        bits.put(-5, 29)
        right.extend([-40] * 100)

    def second(bits):
        # VERBATIM, and LPC order 3 (12-bit coefficients, shift 9).
        values = list(rng.integers(-(2**31), 2**31, 50))
        bits.put(0, 1), bits.put(1, 6), bits.put(0, 1)
        for value in values:
            bits.put(value, 32)
        left.extend(values)
        coefficients, shift, warmup = [700, -300, 90], 9, [10, -20, 30]
        residual = list(rng.integers(-40, 40, 47))
        bits.put(0, 1), bits.put(32 + 2, 6), bits.put(0, 1)
        for value in warmup:
            bits.put(value, 32)
        bits.put(11, 4), bits.put(shift, 5)
        for value in coefficients:
            bits.put(value, 12)
        bits.put(0, 2), bits.put(0, 4), bits.put(4, 4)
        for value in residual:
            bits.rice(value, 4)
        samples = warmup + residual
        for i in range(3, 50):
            prediction = sum(
                c * samples[i - 1 - j] for j, c in enumerate(coefficients)
            )
            samples[i] = residual[i - 3] + (prediction >> shift)
        right.extend(samples)

    frames = frame(0, 100, 6, 1, first, extra=[(99, 8)])
    # A sample number of 36 bits takes 7 bytes (0xFE, then 6 of 6 bits).
    frames += frame(2**35 + 5, 50, 7, 1, second, extra=[(49, 16)])
    info = struct.pack(">HH", 50, 100) + b"\0" * 6
    fields = (44110 << 44) | (1 << 41) | (31 << 36) | 150
    info += fields.to_bytes(8, "big") + b"\0" * 16
    stream = b"fLaC" + bytes([0x80, 0, 0, 34]) + info + frames
    stats = {}
    codes, header = _flac.decode_flac(stream, check_crc=True, stats=stats)
    assert stats["escape"] == 2 and stats["wasted"] == 1
    assert header["sample_rate"] == 44110
    np.testing.assert_array_equal(codes, np.stack([left, right], axis=1))


def test_damaged_flac_and_wav_files(tmp_path):
    good = (FIXTURES / "tone16.flac").read_bytes()
    _, first_frame = _flac.read_streaminfo(good)
    cases = {
        # A sample bit changed: the frame's CRC-16 no longer matches.
        "payload.flac": (
            first_frame + 40,
            "found a damaged or unsupported one",
        ),
        # The block size code changed: the header's CRC-8.
        "header.flac": (first_frame + 2, "frame header .* is damaged"),
    }
    for name, (place, pattern) in cases.items():
        changed = bytearray(good)
        changed[place] ^= 0x10
        path = tmp_path / name
        path.write_bytes(bytes(changed))
        raises_naming(path, pattern, lambda path=path: read_audio(path))
    path = tmp_path / "cut.flac"
    path.write_bytes(good[: len(good) // 2])
    raises_naming(path, "ends inside", lambda: read_audio(path))
    path = tmp_path / "nofmt.wav"
    path.write_bytes(riff((b"LIST", b"INFO")))
    raises_naming(path, "no 'fmt ' chunk", lambda: read_audio(path))
    path = tmp_path / "datafirst.wav"
    path.write_bytes(riff((b"data", b"\0\0")))
    raises_naming(path, "'data' chunk before", lambda: read_audio(path))
    path = tmp_path / "mulaw.wav"
    fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
    path.write_bytes(riff((b"fmt ", fmt), (b"data", b"\x7f" * 10)))
    raises_naming(
        path, "expected PCM or IEEE float.*mu-law", lambda: read_audio(path)
    )


# ------------------------------------------------- errors: not, empty, silent


def test_not_audio_empty_and_silent_files_say_so(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("these are not samples\n")
    raises_naming(
        text,
        r"expected a WAV .* or FLAC .* found 22 bytes starting b'these",
        lambda: load_clip(text, 16000),
    )
    aiff = tmp_path / "snare.wav"  # an AIFF file named .wav
    aiff.write_bytes(b"FORM\0\0\0\x2eAIFFCOMM\0\0\0\x12" + bytes(34))
    raises_naming(
        aiff,
        r"found AIFF data \(b'FORM'\), which is not read",
        lambda: read_audio(aiff),
    )
    nothing = tmp_path / "nothing.flac"
    nothing.write_bytes(b"")
    raises_naming(nothing, "found an empty file", lambda: read_audio(nothing))
    empty = write_wav(tmp_path / "empty.wav", np.zeros((0, 1)), 8000, 2)
    raises_naming(
        empty, "found an empty WAV file", lambda: load_clip(empty, 16000)
    )
    # A FLAC stream of STREAMINFO alone: no frames, no samples.
    info = struct.pack(">HH", 4096, 4096) + b"\0" * 6
    info += ((8000 << 44) | (15 << 36)).to_bytes(8, "big") + b"\0" * 16
    empty_flac = tmp_path / "empty.flac"
    empty_flac.write_bytes(b"fLaC" + bytes([0x80, 0, 0, 34]) + info)
    raises_naming(
        empty_flac, "found an empty FLAC", lambda: read_audio(empty_flac)
    )
    zeros = write_wav(tmp_path / "zeros.wav", np.zeros((800, 2)), 8000, 2)
    raises_naming(zeros, "found a silent file", lambda: load_clip(zeros, 8000))
    hiss = np.zeros((800, 1))
    hiss[::7] = 3  # 3 / 32768 = 9e-5, under 1e-4
    hiss = write_wav(tmp_path / "hiss.wav", hiss, 8000, 2)
    raises_naming(hiss, "peak amplitude 9.2e-05", lambda: load_clip(hiss, 8000))
    assert read_audio(zeros)[0].shape == (800, 2)  # reading is not judging


# -------------------------------------------------------------- resampling


@pytest.mark.parametrize(
    "source, target", [(44100, 16000), (48000, 16000), (16000, 44100)]
)
def test_resampler_against_scipy_and_the_sine(source, target):
    def tone(t):
        low, high = 2 * np.pi * 440 * t, 2 * np.pi * 1000 * t
        return 0.5 * np.sin(low) + 0.3 * np.cos(high)

    ours = resample_audio(tone(np.arange(source // 4) / source), source, target)
    common = np.gcd(source, target)
    theirs = resample_poly(
        tone(np.arange(source // 4) / source),
        target // common,
        source // common,
    )
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    truth = tone(np.arange(len(ours)) / target)
    inside = slice(len(ours) // 8, -len(ours) // 8)  # both pad with zeros
    # scipy's own filter (Kaiser, beta 5) is within 1e-3 of the sine.
    np.testing.assert_allclose(ours[inside], theirs[inside], atol=2e-3)
    np.testing.assert_allclose(ours[inside], truth[inside], atol=1e-5)


def test_resampler_removes_what_the_new_rate_cannot_hold():
    t = np.arange(11025) / 44100
    ours = resample_audio(np.sin(2 * np.pi * 9000 * t), 44100, 16000)
    inside = ours[500:-500]
    assert np.sqrt(np.mean(inside**2)) < 1e-4  # -80 dB (9 kHz > 8 kHz)
    stereo = np.stack([t, -t], axis=1)
    both = resample_audio(stereo, 44100, 22050)
    np.testing.assert_array_equal(both[:, 0], resample_audio(t, 44100, 22050))
    np.testing.assert_array_equal(both[:, 1], -both[:, 0])


# ------------------------------------------------------------------ clips


def test_load_clip_mixes_pads_crops_and_resamples(tmp_path):
    ints = np.stack([np.full(1000, 8192), np.full(1000, -4096)], axis=1)
    ints[::3, 1] = 4096
    path = write_wav(tmp_path / "s.wav", ints, 8000, 2)
    mono = ints.mean(axis=1) / 32768
    np.testing.assert_allclose(load_clip(path, 8000), mono, atol=1e-7)
    padded = load_clip(path, 8000, 1500)
    np.testing.assert_allclose(padded[:1000], mono, atol=1e-7)
    assert padded.dtype == np.float32 and not padded[1000:].any()
    np.testing.assert_allclose(load_clip(path, 8000, 300), mono[:300])
    resampled = load_clip(path, 16000, 1800)
    expected = resample_poly(mono, 2, 1)[:1800]
    np.testing.assert_allclose(resampled[100:], expected[100:], atol=3e-3)
    flac = load_clip(FIXTURES / "stereo24_m.flac", 8000)
    ints, _ = wave_ints(FIXTURES / "stereo24.wav")
    np.testing.assert_allclose(flac, ints.mean(axis=1) / 2**23, atol=1e-7)


# ---------------------------------------------------------------- folders


def tone_wav(path, hertz, rate=8000, count=800, channels=1):
    t = np.arange(count) / rate
    ints = np.round(9000 * np.sin(2 * np.pi * hertz * t))
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_wav(path, np.repeat(ints[:, None], channels, 1), rate, 2)


def test_audio_folder_two_classes(tmp_path, monkeypatch, capsys):
    tone_wav(tmp_path / "low" / "b.wav", 200)
    tone_wav(tmp_path / "low" / "A.WAV", 300, rate=16000, channels=2)
    tone_wav(tmp_path / "high" / "sub" / "c.wav", 2000)
    shutil.copy(FIXTURES / "tone16.flac", tmp_path / "high" / "d.FLAC")
    (tmp_path / "high" / "readme.txt").write_text("not a clip")
    (tmp_path / ".hidden").mkdir()
    monkeypatch.setattr(audio, "_PROGRESS_SECONDS", 0.0)  # a line a file
    clips = audio_folder(tmp_path, 16000, 1200)
    assert isinstance(clips, AudioSet) and len(clips) == 4
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("audio_folder: read 1 of 4 files in ")
    assert lines[-1].startswith("audio_folder: read 4 of 4 files in ")
    monkeypatch.undo()
    assert clips.class_names == ["high", "low"]
    assert clips.labels.dtype == np.int32 and clips.labels.tolist() == [
        0,
        0,
        1,
        1,
    ]
    names = [
        pathlib.Path(path).relative_to(tmp_path).as_posix()
        for path in (clips.paths)
    ]
    assert names == ["high/d.FLAC", "high/sub/c.wav", "low/A.WAV", "low/b.wav"]
    assert clips.waveforms.shape == (4, 1200)
    assert clips.waveforms.dtype == np.float32
    for row, path in zip(clips.waveforms, clips.paths, strict=True):
        np.testing.assert_array_equal(row, load_clip(path, 16000, 1200))
    chosen = audio_folder(tmp_path, 8000, 100, class_names=["low"])
    assert chosen.class_names == ["low"] and chosen.labels.tolist() == [0, 0]
    batches = list(audio_dataset(clips, batch_size=3, shuffle=False))
    assert [tuple(x.shape) for x, _ in batches] == [(3, 1200), (1, 1200)]
    assert batches[0][1].numpy().tolist() == [0, 0, 1]
    assert "audio_folder" in data.__all__ and data.AudioFileError is (
        AudioFileError
    )


def test_audio_folder_bad_files_and_folders(tmp_path):
    tone_wav(tmp_path / "a" / "1.wav", 300)
    (tmp_path / "b").mkdir()
    bad = write_wav(tmp_path / "b" / "2.wav", np.zeros((80, 1)), 8000, 2)
    tone_wav(tmp_path / "b" / "3.wav", 500)
    raises_naming(bad, "silent", lambda: audio_folder(tmp_path, 8000, 100))
    with pytest.warns(UserWarning, match=r"left out 1 of 3 files.*2\.wav"):
        clips = audio_folder(tmp_path, 8000, 100, skip_bad_files=True)
    assert clips.labels.tolist() == [0, 1] and len(clips.paths) == 2
    with pytest.raises(ValueError, match=r"names \['c'\], which are not"):
        audio_folder(tmp_path, 8000, 100, class_names=["a", "c"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no clips; expected files"):
        audio_folder(tmp_path, 8000, 100)
    with pytest.raises(ValueError, match="no class subfolders"):
        audio_folder(tmp_path / "a", 8000, 100)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        audio_folder(tmp_path / "nowhere", 8000, 100)
    with pytest.raises(ValueError, match="`clip_samples` must be a positive"):
        audio_folder(tmp_path, 8000, 0)
