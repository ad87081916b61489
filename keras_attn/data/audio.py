"""Audio: WAV and FLAC files to clips, a folder of class subfolders.

`read_audio` decodes a WAV (integer PCM of 8 to 32 bits, 32- or 64-bit
floats, WAVE_FORMAT_EXTENSIBLE too) or FLAC file with NumPy alone (no
libsndfile): FLAC by the decoder in `_flac`, which checks every frame's
CRC. `load_clip` makes one model input of it: the channels' mean,
resampled to the model's rate (`resample_audio`, a Kaiser-windowed sinc
at the exact rational ratio), padded with zeros or cropped from the
start. `audio_folder` reads a folder of class subfolders as
`keras.utils.audio_dataset_from_directory` does into an `AudioSet`, and
`audio_dataset` batches it in `tf.data`.

A file that is not audio, holds no samples or is silent raises
`AudioFileError`, one line naming the file, what was expected and what
was found. TensorFlow is imported by `audio_dataset` only.
"""

import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from keras_attn.data import _flac
from keras_attn.data import _resample
from keras_attn.data import _wav
from keras_attn.data._common import as_labels
from keras_attn.data._common import check_positive_int

# What `keras.utils.audio_dataset_from_directory` reads is `.wav`; FLAC
# is added here.
AUDIO_SUFFIXES = (".flac", ".wav")
# A file whose largest sample is below this (-80 dBFS: a few steps of
# 16-bit audio, under one step of 8-bit) is silent.
SILENCE_PEAK = 1e-4
# audio_folder prints a progress line when reading takes longer than
# this, and then every this many seconds.
_PROGRESS_SECONDS = 5.0


class AudioFileError(ValueError):
    """A file that is not audio, has no samples, or is silent.

    The message is one line: the path, what was expected, what was found.

    Example:

    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> with open(f"{folder.name}/notes.wav", "w") as file:
    ...     _ = file.write("not a sound")
    >>> try:
    ...     read_audio(f"{folder.name}/notes.wav")
    ... except AudioFileError as error:
    ...     print(str(error).split(": ", 1)[1][:49])
    expected a WAV (RIFF/WAVE) or FLAC (fLaC) file, f
    >>> folder.cleanup()
    """


@dataclasses.dataclass
class AudioSet:
    """Clips read from a folder of class subfolders by `audio_folder`.

    Attributes:
        waveforms: float32 array `(n, clip_samples)`, mono, in [-1, 1]
            (float files may hold louder samples, passed on as stored).
        labels: int32 array `(n,)` of class ids indexing `class_names`.
        class_names: list of str, the class subfolders in label order.
        paths: list of str, the file of each clip, in the same order.

    Example:

    >>> import numpy as np
    >>> clips = AudioSet(np.zeros((2, 160), "float32"),
    ...                  np.array([0, 1], "int32"), ["no", "yes"],
    ...                  ["no/1.wav", "yes/1.wav"])
    >>> len(clips), clips.class_names[clips.labels[1]]
    (2, 'yes')
    """

    waveforms: np.ndarray
    labels: np.ndarray
    class_names: list
    paths: list

    def __len__(self):
        return len(self.labels)


def read_audio(path):
    """Reads a WAV or FLAC file into float samples.

    The kind is told by the file's first bytes (`RIFF....WAVE` or
    `fLaC`), not by its name. WAV: integer PCM of 8 (unsigned), 16, 24 or
    32 bits and IEEE floats of 32 or 64 bits, in a plain or a
    WAVE_FORMAT_EXTENSIBLE header; chunks other than `fmt ` and `data`
    are skipped. FLAC: any stream of 4 to 32 bits per sample and up to 8
    channels, every frame's checksum checked.

    Args:
        path: str or Path. The file.

    Returns:
        `(samples, sample_rate)`: float32 `(frames, channels)` in [-1, 1)
        (integers scaled by 1 / 2^(bits - 1); float WAV samples as
        stored) and the rate in Hz (int).

    Raises:
        FileNotFoundError: there is no such file.
        AudioFileError: the file is not WAV or FLAC, is damaged, or has
            no samples.

    Example:

    >>> import tempfile, wave, numpy as np
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = f"{folder.name}/beep.wav"
    >>> with wave.open(path, "wb") as file:
    ...     file.setnchannels(2); file.setsampwidth(2)
    ...     file.setframerate(8000)
    ...     file.writeframes(np.full((800, 2), 16384, "<i2").tobytes())
    >>> samples, rate = read_audio(path)
    >>> samples.shape, rate, float(samples.max())
    ((800, 2), 8000, 0.5)
    >>> folder.cleanup()
    """
    path = Path(path)
    data = path.read_bytes()
    start = data[:4]
    if start == b"RIFF" and data[8:12] == b"WAVE":
        kind = "WAV"
    elif start == b"fLaC" or (
        start[:3] == b"ID3" and _flac.flac_after_id3(data)
    ):
        kind = "FLAC"
    else:
        raise AudioFileError(
            f"{path}: expected a WAV (RIFF/WAVE) or FLAC (fLaC) file, found "
            f"{_describe_start(data)}."
        )
    try:
        if kind == "WAV":
            samples, rate = _wav.decode_wav(data)
        else:
            codes, info = _flac.decode_flac(data, check_crc=True)
            rate = info["sample_rate"]
            scale = np.float32(2.0 ** (1 - info["bits"]))
            samples = codes.astype(np.float32) * scale
    except (_wav.WavError, _flac.FlacError) as error:
        raise AudioFileError(
            f"{path}: expected a valid {kind} file, found a damaged or "
            f"unsupported one ({error})."
        ) from None
    if samples.size == 0:
        raise AudioFileError(
            f"{path}: expected audio samples, found an empty {kind} file "
            f"(0 samples at {rate} Hz)."
        )
    return samples, int(rate)


def _describe_start(data):
    if not data:
        return "an empty file (0 bytes)"
    other = None
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        other = "AIFF"
    elif data[:4] in (b"RF64", b"RIFX", b"OggS"):
        other = {b"RF64": "RF64", b"RIFX": "RIFX", b"OggS": "Ogg"}[data[:4]]
    elif data[:3] == b"ID3" or (
        len(data) > 1 and data[0] == 0xFF and (data[1] & 0xE0 == 0xE0)
    ):
        other = "MP3"
    if other:
        return f"{other} data ({data[:4]!r}), which is not read"
    return f"{len(data)} bytes starting {data[:8]!r}"


def resample_audio(waveform, source_rate, target_rate):
    """Resamples a waveform at the exact ratio `target_rate / source_rate`.

    A polyphase Kaiser-windowed sinc filter (cut off at 0.95 of the lower
    rate's Nyquist frequency, beta 10, 32 zero crossings each side): flat
    within 0.001 dB up to 0.8 of the lower Nyquist, -0.5 dB at 0.9, and
    below -99 dB from 1.05 on. Output sample m lies at input time
    `m * source_rate / target_rate`, computed in integers (44100 -> 16000
    is 160 / 441 exactly); samples beyond the ends count as zeros, as in
    `scipy.signal.resample_poly`, which gives the same length,
    `ceil(n * target_rate / source_rate)`.

    Args:
        waveform: float array `(samples,)` or `(samples, channels)`.
        source_rate: int. Its rate in Hz.
        target_rate: int. The rate wanted, in Hz.

    Returns:
        float32 array, the same rank, `ceil(samples * target_rate /
        source_rate)` samples long (the input itself, as float32, when
        the rates are equal).

    Example:

    >>> import numpy as np
    >>> t = np.arange(441) / 44100
    >>> out = resample_audio(np.sin(2 * np.pi * 440 * t), 44100, 16000)
    >>> out.shape, str(out.dtype)
    ((160,), 'float32')
    """
    source_rate = check_positive_int("source_rate", source_rate)
    target_rate = check_positive_int("target_rate", target_rate)
    x = np.asarray(waveform, np.float32)
    if x.ndim not in (1, 2):
        raise ValueError(
            "`waveform` must be (samples,) or (samples, channels); "
            f"received shape {x.shape}."
        )
    return _resample.resample(x, source_rate, target_rate)


def _silent(path, samples):
    peak = float(np.max(np.abs(samples)))
    if peak < SILENCE_PEAK:
        raise AudioFileError(
            f"{path}: expected sound, found a silent file (peak amplitude "
            f"{peak:.2g} < {SILENCE_PEAK:g} over {len(samples)} frames)."
        )


def load_clip(path, sample_rate, clip_samples=None):
    """One model input from a file: mono, resampled, padded or cropped.

    The file (`read_audio`) is mixed to mono (the mean of its channels),
    resampled to `sample_rate` (`resample_audio`) and then padded at the
    end with zeros or cropped from the start to `clip_samples`.

    Args:
        path: str or Path. A WAV or FLAC file.
        sample_rate: int. The rate wanted, in Hz (the model's).
        clip_samples: int or None. The length wanted; None keeps the
            resampled length. Defaults to None.

    Returns:
        float32 array `(clip_samples,)`.

    Raises:
        AudioFileError: the file is not audio, holds no samples, or is
            silent (every sample of the file, before cropping, below
            1e-4, -80 dBFS, in magnitude).

    Example:

    >>> import tempfile, wave, numpy as np
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = f"{folder.name}/tone.wav"
    >>> tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(4410) / 44100)
    >>> with wave.open(path, "wb") as file:
    ...     file.setnchannels(1); file.setsampwidth(2)
    ...     file.setframerate(44100)
    ...     file.writeframes((tone * 32767).astype("<i2").tobytes())
    >>> load_clip(path, 16000).shape, load_clip(path, 16000, 2000).shape
    ((1600,), (2000,))
    >>> folder.cleanup()
    """
    sample_rate = check_positive_int("sample_rate", sample_rate)
    if clip_samples is not None:
        clip_samples = check_positive_int("clip_samples", clip_samples)
    samples, rate = read_audio(path)
    _silent(path, samples)
    mono = samples.mean(axis=1, dtype=np.float32)
    mono = resample_audio(mono, rate, sample_rate)
    if clip_samples is None:
        return mono
    if len(mono) >= clip_samples:
        return np.ascontiguousarray(mono[:clip_samples])
    return np.pad(mono, (0, clip_samples - len(mono)))


def _class_folders(folder, class_names):
    found = sorted(
        child.name
        for child in folder.iterdir()
        if child.is_dir() and not child.name.startswith(".")
    )
    if class_names is None:
        if not found:
            listed = sorted(child.name for child in folder.iterdir())[:5]
            raise ValueError(
                f"{folder} has no class subfolders; expected one subfolder "
                f"of clips per class (such as {folder}/dog/1.wav), found "
                f"{listed or 'nothing'}."
            )
        return found
    if isinstance(class_names, str) or not all(
        isinstance(name, str) for name in class_names
    ):
        raise TypeError(
            "`class_names` must be a list of subfolder names (str); "
            f"received {class_names!r}."
        )
    class_names = list(class_names)
    if not class_names or len(set(class_names)) != len(class_names):
        raise ValueError(
            "`class_names` must name each class subfolder once; received "
            f"{class_names}."
        )
    missing = [name for name in class_names if name not in found]
    if missing:
        raise ValueError(
            f"`class_names` names {missing}, which are not subfolders of "
            f"{folder}; found {found}."
        )
    return class_names


def audio_folder(
    folder,
    sample_rate,
    clip_samples,
    class_names=None,
    *,
    skip_bad_files=False,
    progress=True,
):
    """Reads a folder of clips, one subfolder per class, into arrays.

    `folder/dog/*.wav`, `folder/cat/*.flac`, ... as for
    `keras.utils.audio_dataset_from_directory`: classes are the subfolder
    names in sorted order (hidden ones skipped) unless `class_names`
    picks and orders them; files ending in `.wav` or `.flac` (any case)
    are found in each class subfolder and below, sorted by path, and each
    is read by `load_clip`. A line goes to stderr every 5 s while
    reading takes long. Everything is loaded into memory.

    A file that is not audio, is empty or is silent stops the load with
    its `AudioFileError`, as a broken image stops `image_folder`; with
    `skip_bad_files=True` it is left out instead and one warning counts
    them and names the first.

    Args:
        folder: str or Path. The folder of class subfolders.
        sample_rate: int. The rate every clip is resampled to, in Hz.
        clip_samples: int. The length every clip is padded or cropped to.
        class_names: list of str or None. The class subfolders to read,
            in label order; None reads all of them, sorted. Defaults to
            None.
        skip_bad_files: bool. Leave out files that raise
            `AudioFileError`, with a warning. Defaults to False.
        progress: bool. Print progress lines while reading takes long.
            Defaults to True.

    Returns:
        An `AudioSet`: `waveforms` float32 `(n, clip_samples)`, `labels`
        int32 `(n,)`, `class_names` and `paths` (lists of str).

    Raises:
        FileNotFoundError: `folder` is not a folder.
        ValueError: no class subfolders, a named class that is not one,
            or a class with no `.wav` or `.flac` files.
        AudioFileError: a file that is not audio, is empty or is silent
            (unless `skip_bad_files`).

    Example:

    >>> import pathlib, tempfile, wave, numpy as np
    >>> folder = tempfile.TemporaryDirectory()
    >>> for name, hertz in (("high", 2000), ("low", 200)):
    ...     (pathlib.Path(folder.name) / name).mkdir()
    ...     tone = np.sin(2 * np.pi * hertz * np.arange(800) / 8000)
    ...     with wave.open(f"{folder.name}/{name}/1.wav", "wb") as file:
    ...         file.setnchannels(1); file.setsampwidth(2)
    ...         file.setframerate(8000)
    ...         file.writeframes((tone * 9000).astype("<i2").tobytes())
    >>> clips = audio_folder(folder.name, 16000, 1000)
    >>> clips.waveforms.shape, clips.labels.tolist(), clips.class_names
    ((2, 1000), [0, 1], ['high', 'low'])
    >>> folder.cleanup()
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is not a folder; expected a folder with one subfolder "
            "of clips per class."
        )
    sample_rate = check_positive_int("sample_rate", sample_rate)
    clip_samples = check_positive_int("clip_samples", clip_samples)
    class_names = _class_folders(folder, class_names)
    files = []
    for label, name in enumerate(class_names):
        found = sorted(
            file
            for file in (folder / name).rglob("*")
            if file.suffix.lower() in AUDIO_SUFFIXES and file.is_file()
        )
        if not found:
            raise ValueError(
                f"{folder / name} (class {name!r}) has no clips; expected "
                f"files ending in {' or '.join(AUDIO_SUFFIXES)}."
            )
        files.extend((file, label) for file in found)
    waveforms = np.zeros((len(files), clip_samples), np.float32)
    labels, paths, bad = [], [], []
    started = last_line = time.monotonic()
    for index, (file, label) in enumerate(files):
        try:
            waveforms[len(labels)] = load_clip(file, sample_rate, clip_samples)
        except AudioFileError as error:
            if not skip_bad_files:
                raise
            bad.append(error)
            continue
        labels.append(label)
        paths.append(str(file))
        now = time.monotonic()
        if progress and now - last_line >= _PROGRESS_SECONDS:
            last_line = now
            print(
                f"audio_folder: read {index + 1} of {len(files)} files in "
                f"{now - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    if bad:
        warnings.warn(
            f"audio_folder left out {len(bad)} of {len(files)} files that "
            f"could not be used; the first: {bad[0]}",
            UserWarning,
            stacklevel=2,
        )
    if not labels:
        raise ValueError(
            f"{folder}: none of its {len(files)} files could be used."
        )
    return AudioSet(
        waveforms=waveforms[: len(labels)],
        labels=np.asarray(labels, np.int32),
        class_names=list(class_names),
        paths=paths,
    )


def audio_dataset(waveforms, labels=None, batch_size=32, shuffle=True, seed=0):
    """A batched, prefetched `tf.data.Dataset` of `(waveforms, labels)`.

    Args:
        waveforms: float array `(n, samples)`, or an `AudioSet` (then
            `labels` is left out and its own are used).
        labels: 1-D integer array-like of class ids >= 0, one per clip.
        batch_size: int. Clips per batch; the last batch of an epoch may
            be smaller. Defaults to 32.
        shuffle: bool. Shuffled with `seed` and reshuffled every epoch.
            Defaults to True.
        seed: int. Defaults to 0.

    Returns:
        A `tf.data.Dataset` of `(waveforms, labels)` batches, labels
        int32.

    Example:

    >>> import numpy as np
    >>> data = audio_dataset(np.zeros((10, 400), "float32"), np.arange(10),
    ...                      batch_size=4, shuffle=False)
    >>> [tuple(x.shape) for x, _ in data]
    [(4, 400), (4, 400), (2, 400)]
    """
    import tensorflow as tf

    if isinstance(waveforms, AudioSet):
        if labels is not None:
            raise ValueError(
                "`labels` must be left out when `waveforms` is an AudioSet "
                "(its own labels are used)."
            )
        waveforms, labels = waveforms.waveforms, waveforms.labels
    waveforms = np.asarray(waveforms)
    if waveforms.ndim != 2 or len(waveforms) == 0:
        raise ValueError(
            "`waveforms` must be an array (n, samples) with at least one "
            f"clip; received shape {waveforms.shape}."
        )
    if labels is None:
        raise ValueError("`labels` is missing: one class id per clip.")
    labels = as_labels(labels, len(waveforms), what="clips")
    batch_size = check_positive_int("batch_size", batch_size)
    data = tf.data.Dataset.from_tensor_slices((waveforms, labels))
    if shuffle:
        data = data.shuffle(
            len(waveforms), seed=seed, reshuffle_each_iteration=True
        )
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
