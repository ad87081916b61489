"""Classifying strings, images and audio clips with a `.tflite` file, as
MediaPipe Tasks does with it. Long because each of the three kinds of
input needs MediaPipe's own preprocessing repeated exactly (its
tokenizer, its image scaling, its audio windows) before the one runner
they share.

A file written by `to_mediapipe` (or `keras-attn export --mediapipe`)
carries in its TFLite Metadata what an app needs besides the model: the
WordPiece vocabulary, the labels, the image normalization, the audio
sample rate (`metadata`). `read_classifier` reads them back, and
`classify_file` does what MediaPipe's `TextClassifier`,
`ImageClassifier` and `AudioClassifier` do before and after the model,
then runs the file with `LiteRTRunner`:

- text: MediaPipe 1.2's BERT tokenizer (A-Z lowercased, nothing else;
  accents kept; words split on ASCII whitespace, punctuation and CJK
  ideographs), then WordPiece over the file's vocabulary with keras-hub's
  tokenizer; `[CLS]`, the first `sequence_length - 2` pieces, `[SEP]`,
  padded with 0, segment ids 0;
- images: decoded to RGB, resized to the file's input size as MediaPipe
  resizes (OpenCV's bilinear warp of the uint8 pixels, aspect ratio not
  kept), `(pixel - mean) / std`;
- audio (`clip_scores`): mixed to mono, resampled to the file's rate,
  cut into back-to-back windows of the file's input length, the last
  padded with zeros; MediaPipe gives one result a window, here the clip
  gets the mean of its windows' probabilities.

A plain `to_tflite` file has neither vocabulary nor labels: it is
refused, with what to export instead.
"""

import dataclasses
import os
import pathlib

import numpy as np

from keras_attn.export import integrity
from keras_attn.export import metadata as md
from keras_attn.export.runtime import LiteRTRunner

# MediaPipe's names of the BERT inputs in the metadata, in the order it
# assumes when the metadata names none of them.
_BERT_ROLES = ("ids", "mask", "segment_ids")
_TASKS = ("text_classifier", "image_classifier", "audio_classifier")
_WHITESPACE = "[ \t\n\f\r]"  # RE2's \s, which MediaPipe's split uses
_KEPT = (
    r"[!-/:-@\[-`{-~]|\p{P}|[\u4E00-\u9FFF\u3400-\u4DBF\uF900-\uFAFF"
    r"\U00020000-\U0002A6DF\U0002A700-\U0002CEAF\U0002F800-\U0002FA1F]"
)
_ASCII_LOWER = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
)


@dataclasses.dataclass
class FileClassifier:
    """What a MediaPipe classifier file says about itself.

    Attributes:
        path: str, the `.tflite` file.
        task: `"text_classifier"`, `"image_classifier"` or
            `"audio_classifier"`.
        labels: list of str, in output order.
        vocabulary: text: the WordPiece tokens (id = position); else None.
        sequence_length: text: tokens per call; else None.
        inputs: `{role: signature input name}`; roles `ids`, `mask`,
            `segment_ids` for text, `image` for images, `waveform` for
            audio.
        image_size: images: `(height, width)`; else None.
        mean, std: images: the normalization, `(pixel - mean) / std`.
        probabilities: bool. The file's last operator is a softmax (its
            scores are probabilities; else logits).
        sample_rate: audio: the rate in Hz the file takes (its metadata's
            `AudioProperties`); else None.
        window: audio: the samples of one model input; else None.
    """

    path: str
    task: str
    labels: list
    vocabulary: list | None = None
    sequence_length: int | None = None
    inputs: dict = dataclasses.field(default_factory=dict)
    image_size: tuple | None = None
    mean: float = 0.0
    std: float = 1.0
    probabilities: bool = False
    sample_rate: int | None = None
    window: int | None = None


# -- Reading the file ----------------------------------------------------------


def _lines(data):
    """The lines of a packed text file, as MediaPipe reads them (empty
    lines skipped)."""
    text = data.decode("utf-8")
    return [line.removesuffix("\r") for line in text.split("\n") if line]


def _ends_in_softmax(blob):
    """Whether subgraph 0's first output comes from a SOFTMAX operator."""
    from keras_attn import _compat

    schema = _compat.tflite_schema()
    model = schema.Model.GetRootAs(blob, 0)
    graph = model.Subgraphs(0)
    output = graph.Outputs(0)
    for index in range(graph.OperatorsLength()):
        op = graph.Operators(index)
        if output in op.OutputsAsNumpy().tolist():
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            return builtin == schema.BuiltinOperator.SOFTMAX
    return False


def _refuse(path, problem):
    raise ValueError(f"{path}: {problem}")


def read_classifier(path):
    """The `FileClassifier` of a MediaPipe text, image or audio classifier
    file.

    Args:
        path: a `.tflite` file with TFLite Metadata (written by
            `to_mediapipe`, or any file MediaPipe's `TextClassifier`,
            `ImageClassifier` or (one channel) `AudioClassifier` runs).

    Returns:
        A `FileClassifier`.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: one line saying what the file lacks or is (no
            metadata, an embedder, damaged metadata), and what to export
            instead.
    """
    path = os.fspath(path)
    blob = pathlib.Path(path).read_bytes()
    if blob[4:8] != b"TFL3":
        _refuse(path, "is not a TFLite file (no 'TFL3' identifier)")
    summary = md.summary(blob)
    if summary is None:
        _refuse(
            path,
            "has no TFLite Metadata, so no vocabulary, labels, image "
            "normalization or sample rate: export it with --mediapipe "
            "text_classifier, image_classifier or audio_classifier "
            "(to_mediapipe), or give the run folder or .keras file",
        )
    if summary.get("error"):
        _refuse(path, f"its metadata cannot be read: {summary['error']}")
    task = summary["task"]
    if task not in _TASKS:
        what = (
            f"a MediaPipe {task}" if task else "no text, image or audio model"
        )
        _refuse(
            path,
            f"is {what}; expected a text_classifier, image_classifier or "
            "audio_classifier file (with labels)",
        )
    metadata, files = md.read(blob)
    inputs, outputs = md.model_io(blob)
    if len(outputs) != 1 or len(outputs[0][1]) != 2:
        shapes = [shape for _, shape, _ in outputs]
        _refuse(path, f"has outputs {shapes}; expected one [1, classes]")
    labels = summary["labels"]
    if len(labels) != outputs[0][1][-1]:
        _refuse(
            path,
            f"has {len(labels)} labels for {outputs[0][1][-1]} scores",
        )
    found = FileClassifier(
        path=path,
        task=task,
        labels=labels,
        probabilities=_ends_in_softmax(integrity.split_footer(blob)[0]),
    )
    if task == "text_classifier":
        vocab = summary["tokenizer"].get("vocab_file")
        if summary["tokenizer"]["type"] != "bert" or vocab not in files:
            _refuse(
                path,
                f"its tokenizer is {summary['tokenizer']}; expected a BERT "
                "tokenizer with its vocabulary packed in the file",
            )
        found.vocabulary = _lines(files[vocab])
        if "[CLS]" not in found.vocabulary or "[SEP]" not in found.vocabulary:
            _refuse(path, "its vocabulary lacks [CLS] or [SEP]")
        names = [tensor.name for tensor in metadata.inputs]
        if sorted(names) != sorted(_BERT_ROLES):
            names = list(_BERT_ROLES)
        if len(inputs) != 3:
            _refuse(path, f"has {len(inputs)} inputs; expected 3 (BERT)")
        found.inputs = {
            role: name for role, (name, _, _) in zip(names, inputs, strict=True)
        }
        found.sequence_length = int(inputs[0][1][-1])
        if found.sequence_length < 3:
            _refuse(path, "has no fixed sequence length")
    elif task == "audio_classifier":
        _read_audio_input(found, summary["audio"], inputs)
    else:
        ((name, shape, dtype),) = inputs
        if len(shape) != 4 or shape[-1] != 3 or min(shape[1:3]) < 1:
            _refuse(path, f"takes {shape}; expected [1, height, width, 3]")
        found.inputs = {"image": name}
        found.image_size = (int(shape[1]), int(shape[2]))
        norm = summary["normalization"]
        if dtype == "uint8":  # a quantized input takes the pixels
            found.mean, found.std = 0.0, 1.0
        elif norm is None:
            _refuse(path, "has no image normalization in its metadata")
        else:
            found.mean = float(norm["mean"][0])
            found.std = float(norm["std"][0])
    return found


def _read_audio_input(found, audio, inputs):
    """Fills `found`'s sample rate, window and input name from the
    metadata's `AudioProperties` and the file's one `[1, samples]`
    float32 input."""
    path = found.path
    if len(inputs) != 1:
        _refuse(path, f"has {len(inputs)} inputs; expected 1 (a waveform)")
    ((name, shape, dtype),) = inputs
    if len(shape) != 2 or shape[0] != 1 or shape[1] < 1 or dtype != "float32":
        _refuse(path, f"takes {dtype}{shape}; expected float32 [1, samples]")
    if audio["channels"] != 1 or audio["sample_rate"] < 1:
        _refuse(
            path,
            f"its metadata gives {audio['channels']} channels at "
            f"{audio['sample_rate']} Hz; expected 1 channel at a positive "
            "rate",
        )
    found.inputs = {"waveform": name}
    found.sample_rate = int(audio["sample_rate"])
    found.window = int(shape[1])


# -- Text ----------------------------------------------------------------------


def mediapipe_words(text):
    """`text` split into words as MediaPipe 1.2's BERT tokenizer splits it.

    A-Z are lowercased (nothing else: accents and other capitals stay);
    ASCII whitespace separates words; ASCII punctuation and symbols,
    Unicode punctuation and CJK ideographs are words of their own.

    Example:

    >>> mediapipe_words("Don't STOP, Café!")
    ['don', "'", 't', 'stop', ',', 'café', '!']
    """
    import regex

    text = text.translate(_ASCII_LOWER)
    words = []
    start = 0
    for match in regex.finditer(f"{_WHITESPACE}|{_KEPT}", text):
        words.append(text[start : match.start()])
        if not regex.fullmatch(_WHITESPACE, match.group()):
            words.append(match.group())
        start = match.end()
    words.append(text[start:])
    return [word for word in words if word]


def mediapipe_bert_inputs(texts, vocabulary, sequence_length):
    """The BERT inputs MediaPipe feeds for each of `texts`.

    WordPiece is keras-hub's (`WordPieceTokenizer`, `##` suffixes, a word
    that fails or is over 100 bytes is one `[UNK]`), over the words of
    `mediapipe_words`.

    Args:
        texts: list of str.
        vocabulary: list of str, the WordPiece tokens (id = position).
        sequence_length: int, tokens per text.

    Returns:
        `{"ids", "mask", "segment_ids"}`, int32 arrays of
        `(len(texts), sequence_length)`: `[CLS]`, the first
        `sequence_length - 2` pieces, `[SEP]`, then 0; the mask is 1 on
        those tokens.
    """
    import keras_hub
    import tensorflow as tf

    tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=list(vocabulary),
        lowercase=False,
        strip_accents=False,
        split=False,
        oov_token="[UNK]",
        dtype="int32",
    )
    words = tf.ragged.constant(
        [mediapipe_words(text) for text in texts] + [[]], dtype=tf.string
    )
    pieces = tokenizer(words)[:-1]  # the empty row fixes the ragged shape
    cls, sep = vocabulary.index("[CLS]"), vocabulary.index("[SEP]")
    ids = np.zeros((len(texts), sequence_length), "int32")
    mask = np.zeros_like(ids)
    for row, found in enumerate(pieces):
        found = [cls, *list(found)[: sequence_length - 2], sep]
        ids[row, : len(found)] = found
        mask[row, : len(found)] = 1
    return {"ids": ids, "mask": mask, "segment_ids": np.zeros_like(ids)}


# -- Images --------------------------------------------------------------------


def read_image(path):
    """An image file (PNG, JPEG, BMP, GIF's first frame) as uint8 RGB
    `(height, width, 3)`; grey images repeat their channel, alpha is
    dropped. JPEG is decoded with libjpeg's accurate integer DCT, as
    Pillow and OpenCV decode it (MediaPipe's own decoder, stb_image, was
    up to 3 levels off both in a trial). Raises ValueError for a file
    that is no such image."""
    import tensorflow as tf

    data = pathlib.Path(path).read_bytes()
    try:
        if tf.io.is_jpeg(data):
            image = tf.io.decode_jpeg(
                data, channels=3, dct_method="INTEGER_ACCURATE"
            )
        else:
            image = tf.io.decode_image(
                data, channels=3, expand_animations=False
            )
    except (tf.errors.InvalidArgumentError, ValueError):
        raise ValueError(
            f"{path} is not a PNG, JPEG, BMP or GIF image"
        ) from None
    return np.asarray(image, "uint8")


def mediapipe_resize(image, size):
    """A uint8 image resized to `size` `(height, width)` as MediaPipe's
    CPU image preprocessing does it (MediaPipe 1.2, `ImageToTensor`):
    OpenCV's `warpAffine` of the uint8 pixels with `dst = src * scale`
    (corners aligned at 0, no half-pixel offset), bilinear in OpenCV's
    fixed point (positions in 1/32 of a pixel, weights in 1/32768, the
    sum rounded), edges replicated, aspect ratio not kept."""
    image = np.asarray(image)
    rows, cols = image.shape[:2]
    height, width = size
    # OpenCV inverts the forward matrix diag(width / cols, height / rows).
    sx, sy = width / cols, height / rows
    det = 1.0 / (sx * sy)
    inverse_x, inverse_y = sy * det, sx * det

    def positions(count, inverse, limit):
        fixed = np.rint(inverse * np.arange(count) * 1024).astype(np.int64)
        fixed = (fixed + 16) >> 5  # 1/32 of a pixel, rounded
        first, fraction = fixed >> 5, fixed & 31
        low = np.clip(first, 0, limit - 1)
        high = np.clip(first + 1, 0, limit - 1)
        return low, high, fraction

    x0, x1, fx = positions(width, inverse_x, cols)
    y0, y1, fy = positions(height, inverse_y, rows)
    pixels = image.astype(np.int64)
    wx, wy = fx[None, :, None], fy[:, None, None]
    total = (
        pixels[y0][:, x0] * ((32 - wy) * (32 - wx))
        + pixels[y0][:, x1] * ((32 - wy) * wx)
        + pixels[y1][:, x0] * (wy * (32 - wx))
        + pixels[y1][:, x1] * (wy * wx)
    ) * 32  # weights of 1/32768
    return np.clip((total + (1 << 14)) >> 15, 0, 255).astype(np.uint8)


def image_input(image, size, mean, std):
    """One uint8 RGB image as the file's float32 input `(1, H, W, 3)`:
    resized to `size` as MediaPipe does (`mediapipe_resize`) unless it
    has that size, then `(pixel - mean) / std`."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(
            "Expected a uint8 RGB image (height, width, 3); received "
            f"{image.dtype} of shape {image.shape}."
        )
    if tuple(image.shape[:2]) != tuple(size):
        image = mediapipe_resize(image, size)
    pixels = image.astype("float32")
    return ((pixels - np.float32(mean)) / np.float32(std))[None]


# -- Audio ---------------------------------------------------------------------


def audio_windows(samples, window):
    """A mono clip cut as MediaPipe's `AudioClassifier` cuts it:
    back-to-back windows of `window` samples (no overlap), the last one
    padded with zeros; a clip shorter than a window is one padded window.

    Args:
        samples: float array `(samples,)`.
        window: int, the samples of one model input.

    Returns:
        float32 array `(count, window)`, `count = max(1, ceil(samples /
        window))`.

    Example:

    >>> audio_windows(np.arange(1, 6), 2)
    array([[1., 2.],
           [3., 4.],
           [5., 0.]], dtype=float32)
    """
    samples = np.asarray(samples, "float32")
    if samples.ndim != 1:
        raise ValueError(
            f"Expected a mono clip (samples,); received shape {samples.shape}."
        )
    count = max(1, -(-len(samples) // window))
    padded = np.zeros(count * window, "float32")
    padded[: len(samples)] = samples
    return padded.reshape(count, window)


def _mono(clip, found):
    """A clip (a WAV or FLAC file, or samples at the file's rate) as mono
    float32 samples at `found.sample_rate`."""
    if isinstance(clip, (str, os.PathLike)):
        from keras_attn.data.audio import load_clip

        return load_clip(clip, found.sample_rate)
    samples = np.asarray(clip)
    if (
        samples.ndim not in (1, 2)
        or not samples.size
        or not np.issubdtype(samples.dtype, np.floating)
    ):
        _refuse(
            found.path,
            "is an audio_classifier, which takes WAV or FLAC files or float "
            f"samples (samples,) or (samples, channels) at "
            f"{found.sample_rate} Hz; received {samples.dtype} of shape "
            f"{samples.shape}",
        )
    if samples.ndim == 2:
        return samples.mean(axis=1, dtype=np.float32)
    return samples.astype("float32")


def clip_scores(path, clips, num_threads=2):
    """Each clip's probabilities from a MediaPipe audio classifier file.

    Does what MediaPipe Tasks' `AudioClassifier` (clips mode) does before
    the model: the clip is mixed to mono (the mean of its channels),
    resampled to the file's rate (its metadata's `AudioProperties`) and
    cut into back-to-back windows of the file's input length, the last
    padded with zeros (`audio_windows`). Each window is run with
    `LiteRTRunner`; where MediaPipe gives one result a window, the clip's
    scores here are the mean of its windows' probabilities (a softmax of
    each window's scores where the file gives logits).

    Files are read with `keras_attn.data.audio.load_clip` and resampled
    with its `resample_audio` (a Kaiser-windowed sinc at the exact
    ratio). MediaPipe resamples with its own `QResampler` (a shorter
    filter, and a flushed tail of a few samples that can add a window),
    so for a clip at another rate the scores can differ slightly from
    MediaPipe's, and the number of windows by one; at the file's rate the
    samples, windows and scores are MediaPipe's.

    Args:
        path: a `.tflite` file written by `to_mediapipe` for
            `audio_classifier` (or another one-channel file MediaPipe's
            `AudioClassifier` runs).
        clips: WAV or FLAC file paths, or float arrays of samples at the
            file's rate, `(samples,)` or `(samples, channels)`.
        num_threads: interpreter threads.

    Returns:
        `(FileClassifier, probabilities, windows)`: float64
        `(len(clips), classes)` probabilities in label order, and the
        number of windows of each clip (a list of int).

    Raises:
        ValueError: a file that is no MediaPipe audio classifier, or a
            clip that is neither audio samples nor an audio file
            (`AudioFileError`: not WAV or FLAC, empty or silent).
    """
    found = read_classifier(path)
    if found.task != "audio_classifier":
        _refuse(path, f"is a {found.task}; expected an audio_classifier")
    runner = LiteRTRunner(path, num_threads=num_threads)
    probabilities, windows = [], []
    for clip in clips:
        cut = audio_windows(_mono(clip, found), found.window)
        outputs = []
        for row in cut:
            feed = {found.inputs["waveform"]: row[None]}
            (output,) = runner(feed).values()
            outputs.append(np.asarray(output, "float64")[0])
        outputs = np.stack(outputs)
        if not found.probabilities:
            outputs = softmax(outputs)
        probabilities.append(outputs.mean(axis=0))
        windows.append(len(cut))
    probabilities = np.reshape(probabilities, (len(windows), len(found.labels)))
    return found, probabilities, windows


# -- Classifying ---------------------------------------------------------------


def softmax(scores):
    """Softmax over the last axis, in float64."""
    scores = np.asarray(scores, "float64")
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def ranked(labels, scores, top_k=None):
    """`[(label, score)]` of each row of `scores`, highest first (the
    first `top_k` of them)."""
    found = []
    for row in np.asarray(scores, "float64"):
        order = np.argsort(-row, kind="stable")[:top_k]
        found.append([(labels[i], float(row[i])) for i in order])
    return found


def file_scores(path, inputs, num_threads=2):
    """`(FileClassifier, (len(inputs), classes) float64 scores)`: the
    file's outputs on each input, as MediaPipe reports them; for an audio
    classifier, each clip's mean over its windows of their probabilities
    (`clip_scores`).

    `inputs`: strings for a text classifier; for an image classifier,
    image file paths or uint8 RGB arrays `(height, width, 3)`; for an
    audio classifier, WAV or FLAC file paths or float samples at the
    file's rate.
    """
    found = read_classifier(path)
    inputs = list(inputs)
    if found.task == "audio_classifier":
        found, scores, _ = clip_scores(path, inputs, num_threads=num_threads)
        return found, scores
    text = found.task == "text_classifier"
    for item in inputs:
        is_text = isinstance(item, str) and text
        if text != is_text:
            kind = "strings" if text else "images (files or arrays)"
            _refuse(
                path,
                f"is a {found.task}, which takes {kind}; received "
                f"{type(item).__name__} {str(item)[:40]!r}",
            )
    runner = LiteRTRunner(path, num_threads=num_threads)
    scores = []
    if text:
        features = mediapipe_bert_inputs(
            inputs, found.vocabulary, found.sequence_length
        )
        for row in range(len(inputs)):
            feed = {
                name: features[role][row : row + 1]
                for role, name in found.inputs.items()
            }
            (output,) = runner(feed).values()
            scores.append(np.asarray(output, "float64")[0])
    else:
        for item in inputs:
            if isinstance(item, (str, os.PathLike)):
                item = read_image(item)
            feed = image_input(item, found.image_size, found.mean, found.std)
            (output,) = runner({found.inputs["image"]: feed}).values()
            scores.append(np.asarray(output, "float64")[0])
    scores = np.reshape(scores, (len(inputs), len(found.labels)))
    return found, scores


def classify_file(
    path, inputs, *, top_k=None, probabilities=False, num_threads=2
):
    """Labels and scores of each input, from a MediaPipe classifier file.

    Does what MediaPipe Tasks' `TextClassifier` / `ImageClassifier` /
    `AudioClassifier` do with the file (tokenizer, image normalization or
    sample rate from its metadata), runs it with `LiteRTRunner` and
    ranks the labels.

    Args:
        path: a `.tflite` file written by `to_mediapipe` for
            `text_classifier`, `image_classifier` or `audio_classifier`.
        inputs: strings (text), or image file paths or uint8 RGB arrays
            `(height, width, 3)` (images; resized to the file's size), or
            WAV or FLAC file paths or float samples at the file's rate
            (audio; see `clip_scores`).
        top_k: int or None. Keep the `top_k` best labels of each input.
        probabilities: bool. Scores as probabilities: a softmax of the
            file's scores unless the file ends in one. False: the
            scores as the file gives them (MediaPipe's). Audio scores
            are always probabilities (the mean of the clip's windows').
        num_threads: interpreter threads.

    Returns:
        One list per input of `(label, score)`, highest score first.

    Raises:
        ValueError: a file that is no MediaPipe classifier (a plain
            `to_tflite` file has no vocabulary or labels), or inputs of
            the other kind.

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from keras_attn import models
    >>> from keras_attn.export import to_mediapipe, classify_file
    >>> vit = models.vit_classifier(
    ...     2, image_size=8, patch_size=4, num_layers=1, hidden_dim=8,
    ...     num_heads=1, intermediate_dim=8)
    >>> path = os.path.join(tempfile.mkdtemp(), "vit.tflite")
    >>> _ = to_mediapipe(vit, path, "image_classifier", labels=["a", "b"],
    ...                  normalization=(0, 255), measure_latency=False)
    >>> image = np.zeros((20, 10, 3), "uint8")  # resized to 8x8
    >>> (found,) = classify_file(path, [image], probabilities=True)
    >>> sorted(label for label, _ in found)
    ['a', 'b']
    >>> round(sum(score for _, score in found), 6)
    1.0
    """
    found, scores = file_scores(path, inputs, num_threads=num_threads)
    audio = found.task == "audio_classifier"  # probabilities already
    if probabilities and not (found.probabilities or audio):
        scores = softmax(scores)
    return ranked(found.labels, scores, top_k)


__all__ = [
    "FileClassifier",
    "audio_windows",
    "classify_file",
    "clip_scores",
    "file_scores",
    "image_input",
    "mediapipe_bert_inputs",
    "mediapipe_resize",
    "mediapipe_words",
    "ranked",
    "read_classifier",
    "read_image",
    "softmax",
]
