"""`keras-attn predict`: labels and scores of texts, images or audio
clips, from a run folder, a `.keras` task or a MediaPipe classifier
`.tflite` file; the tags of sentences' words, from a tagger's run folder
or `.tflite` file.

A run folder or `.keras` file loads as its task (`models.load_task`):
a text, image or audio classifier's logits become probabilities (an
audio classifier reads each clip with `keras_attn.data.audio.load_clip`:
mono, resampled to the model's rate, padded or cropped to its window; a
`--input` that is a `.wav` or `.flac` file is one clip, not a list), a
translator's `translate` gives translations, and a tagger's `tag` gives
each word its tag (each input is one sentence, its words separated by
spaces; printed as `word/TAG word/TAG ...`). A tagger's `.tflite` file
tags the same way with the file alone (`export.tagger.tag_file`); any
other `.tflite` file goes to `keras_attn.export.predict`, which reads
its vocabulary, labels, image normalization or sample rate from its
metadata and does what MediaPipe Tasks does (an audio classifier's file
scores each clip by the mean of its windows' probabilities, the number
of windows in `--json`'s `"windows"`). Inputs of the wrong kind, a file that is
no classifier or tagger and an image that does not decode raise
`checks.UsageError` (exit status 2); a damaged file or a failure of the
run is one line and exit status 1.
"""

import sys

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_AUDIO_SUFFIXES = (".flac", ".wav")  # keras_attn.data.audio's


def _predict_inputs(args):
    """The arguments, then the lines of `--input` (blank lines skipped;
    `-` is standard input)."""
    import pathlib

    from keras_attn.cli.checks import UsageError

    inputs = list(args.inputs)
    if args.input is None:
        return inputs
    if pathlib.Path(args.input).suffix.lower() in _AUDIO_SUFFIXES:
        return inputs + [args.input]  # a clip, not a file of lines
    source = "standard input" if args.input == "-" else args.input
    try:
        if args.input == "-":
            text = sys.stdin.read()
        else:
            text = pathlib.Path(args.input).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        message = f"{source} is not UTF-8 text: {error}"
        raise UsageError("--input", message) from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise UsageError(
            "--input", f"{source} holds no inputs; expected one a line"
        )
    return inputs + lines


def _check_texts(model, inputs):
    """A text model given image files: one line saying so."""
    import pathlib

    from keras_attn.cli.checks import UsageError

    for given in inputs:
        path = pathlib.Path(given)
        suffix = path.suffix.lower()
        if suffix in _IMAGE_SUFFIXES + _AUDIO_SUFFIXES and path.is_file():
            kind = "image" if suffix in _IMAGE_SUFFIXES else "audio"
            raise UsageError(
                "INPUT",
                f"{model} classifies text; received the {kind} file "
                f"{given} (expected texts)",
            )


def _read_images(model, inputs):
    """The image files of `inputs` as uint8 RGB arrays; `UsageError` for
    one that is missing or no image."""
    import pathlib

    from keras_attn.cli.checks import UsageError
    from keras_attn.export.predict import read_image

    images = []
    for given in inputs:
        path = pathlib.Path(given)
        what = f"{model} classifies images: expected PNG or JPEG files"
        if not path.is_file():
            problem = "is a folder" if path.is_dir() else "not found"
            raise UsageError("INPUT", f"{given} {problem}; {what}")
        try:
            images.append(read_image(path))
        except (OSError, ValueError) as error:
            message = " ".join(str(error).split())
            raise UsageError("INPUT", f"{message}; {what}") from None
    return images


def _read_clips(model, inputs, sample_rate, clip_samples):
    """The audio files of `inputs` as float32 `(N, clip_samples)` clips
    at `sample_rate` (`keras_attn.data.audio.load_clip`), or with
    `clip_samples=None` a list of them at their lengths; `UsageError`
    for one that is missing or no audio."""
    import pathlib

    import numpy as np

    from keras_attn.cli.checks import UsageError
    from keras_attn.data.audio import load_clip

    clips = []
    what = f"{model} classifies audio: expected WAV or FLAC files"
    for given in inputs:
        path = pathlib.Path(given)
        if not path.is_file():
            problem = "is a folder" if path.is_dir() else "not found"
            raise UsageError("INPUT", f"{given} {problem}; {what}")
        try:
            clips.append(load_clip(path, sample_rate, clip_samples))
        except (OSError, ValueError) as error:
            message = " ".join(str(error).split())
            raise UsageError("INPUT", f"{message}; {what}") from None
    if clip_samples is None:
        return clips
    return np.stack(clips).astype("float32")


def _print_predictions(args, inputs, names, scores, windows=None):
    import json

    from keras_attn.export.predict import ranked

    top = args.top or (len(names) if args.json else 1)
    for index, (given, found) in enumerate(
        zip(inputs, ranked(names, scores, top), strict=True)
    ):
        if args.json:
            labels = [{"label": name, "score": score} for name, score in found]
            record = {"input": given, "labels": labels}
            if windows is not None:  # an audio classifier's .tflite file
                record["windows"] = windows[index]
            print(json.dumps(record, ensure_ascii=False))
        else:
            labels = ", ".join(f"{name} {score:.4f}" for name, score in found)
            print(f"{labels}  {' '.join(given.split())}")


def _is_tagger_file(path):
    """Whether `path` is a tagger's `.tflite` file (keras_attn's
    `token_classifier` metadata: vocabulary and tags)."""
    import pathlib

    from keras_attn.export import metadata

    blob = pathlib.Path(path).read_bytes()
    if blob[4:8] != b"TFL3":
        return False
    found = metadata.summary(blob)
    return bool(found) and found.get("task") == "token_classifier"


def _tag_with_file(args, inputs):
    """`("tags", [(words, tags)])` of a tagger's `.tflite` file
    (`export.tagger.tag_file`: the file's vocabulary, casing and tags)."""
    from keras_attn.cli.checks import UsageError
    from keras_attn.export.tagger import tag_file

    if args.top is not None:
        raise UsageError(
            "--top", f"applies to classifiers; {args.model} tags words"
        )
    _check_texts(args.model, inputs)
    sentences = _sentences(args.model, inputs)
    try:
        tags = tag_file(args.model, sentences)
    except ValueError as error:
        raise UsageError("MODEL", " ".join(str(error).split())) from None
    return "tags", list(zip(sentences, tags, strict=True))


def _predict_file(args, inputs):
    """`(names, probabilities)` of a MediaPipe classifier `.tflite` file
    (`(names, probabilities, windows)` of an audio classifier's: each
    clip's number of windows), or `("tags", [(words, tags)])` of a
    tagger's."""
    from keras_attn.cli.checks import UsageError
    from keras_attn.export import CorruptModelError
    from keras_attn.export.predict import clip_scores
    from keras_attn.export.predict import file_scores
    from keras_attn.export.predict import read_classifier
    from keras_attn.export.predict import softmax

    if _is_tagger_file(args.model):
        return _tag_with_file(args, inputs)
    try:
        found = read_classifier(args.model)
    except CorruptModelError:
        raise
    except ValueError as error:
        raise UsageError("MODEL", " ".join(str(error).split())) from None
    if found.task == "audio_classifier":
        clips = _read_clips(args.model, inputs, found.sample_rate, None)
        found, probabilities, windows = clip_scores(args.model, clips)
        return found.labels, probabilities, windows
    if found.task == "text_classifier":
        _check_texts(args.model, inputs)
        given = inputs
    else:
        given = _read_images(args.model, inputs)
    found, scores = file_scores(args.model, given)
    return found.labels, scores if found.probabilities else softmax(scores)


def _task_kind(task):
    """`"text"`, `"image"`, `"audio"`, `"translator"` or `"tagger"`: what
    a loaded task does."""
    from keras_attn import models

    if isinstance(task, models.TextClassifier):
        return "text"
    if isinstance(task, models.ImageClassifier):
        return "image"
    if isinstance(task, models.Translator):
        return "translator"
    if isinstance(task, models.TokenClassifier):
        return "tagger"
    if isinstance(task, models.AudioClassifier):
        return "audio"
    return None


def _task_images(task, images):
    """The task's probabilities for uint8 RGB images of any sizes: each
    size in one batch, resized by the task's own preprocessor; grey for a
    model of one channel (the mean of R, G and B, as `--grayscale
    mean`)."""
    import numpy as np

    channels = task.backbone.input_shape[-1]
    rows = [None] * len(images)
    sizes = {}
    for index, image in enumerate(images):
        sizes.setdefault(image.shape, []).append(index)
    for indices in sizes.values():
        pixels = np.stack([images[i] for i in indices]).astype("float32")
        if channels == 1:
            pixels = pixels.mean(axis=-1, keepdims=True)  # (N, H, W, 1)
        found = task.probabilities(pixels)
        for index, row in zip(indices, found, strict=True):
            rows[index] = row
    return np.stack(rows)


def _sentences(model, inputs):
    """Each input as the words of one sentence (split on whitespace);
    `UsageError` for one with no words."""
    from keras_attn.cli.checks import UsageError

    sentences = [text.split() for text in inputs]
    for text, words in zip(inputs, sentences, strict=True):
        if not words:
            raise UsageError(
                "INPUT",
                f"{model} tags the words of each input; received an empty "
                f"one ({text!r}); expected words separated by spaces",
            )
    return sentences


def _predict_task(args, inputs):
    """`(names, probabilities)`, `(None, translations)` or `("tags",
    [(words, tags)])` of a run folder or `.keras` task."""
    from keras_attn import models
    from keras_attn.cli.checks import UsageError
    from keras_attn.export import CorruptModelError

    try:
        task = models.load_task(args.model)
    except CorruptModelError:
        raise
    except (FileNotFoundError, ValueError, TypeError) as error:
        raise UsageError("MODEL", " ".join(str(error).split())) from None
    kind = _task_kind(task)
    if kind is None:
        raise UsageError(
            "MODEL",
            f"{args.model} holds a {type(task).__name__}; expected a text, "
            "image or audio classifier, a translator or a tagger",
        )
    if kind in ("translator", "tagger") and args.top is not None:
        does = "translates" if kind == "translator" else "tags words"
        raise UsageError(
            "--top", f"applies to classifiers; {args.model} {does}"
        )
    if kind == "tagger":
        _check_texts(args.model, inputs)
        sentences = _sentences(args.model, inputs)
        return "tags", list(zip(sentences, task.tag(sentences), strict=True))
    if kind == "translator":
        _check_texts(args.model, inputs)
        return None, [str(text) for text in task.translate(inputs)]
    if kind == "text":
        _check_texts(args.model, inputs)
        probabilities = task.probabilities(inputs)
    elif kind == "audio":
        clips = _read_clips(
            args.model, inputs, task.sample_rate, task.clip_samples
        )
        probabilities = task.probabilities(clips)
    else:
        probabilities = _task_images(task, _read_images(args.model, inputs))
    return list(task.label_names), probabilities


def predict(args):
    import json

    from keras_attn.export import CorruptModelError

    inputs = _predict_inputs(args)
    windows = None
    try:
        if str(args.model).lower().endswith(".tflite"):
            names, results, *more = _predict_file(args, inputs)
            windows = more[0] if more else None
        else:
            names, results = _predict_task(args, inputs)
    except (CorruptModelError, OSError, RuntimeError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"keras-attn predict: error: {message}", file=sys.stderr)
        return 1
    if names == "tags":
        for given, (words, tags) in zip(inputs, results, strict=True):
            if args.json:
                record = {"input": given, "words": words, "tags": tags}
                print(json.dumps(record, ensure_ascii=False))
            else:
                tagged = zip(words, tags, strict=True)
                print(" ".join(f"{word}/{tag}" for word, tag in tagged))
        return 0
    if names is None:
        for given, translation in zip(inputs, results, strict=True):
            if args.json:
                record = {"input": given, "translation": translation}
                print(json.dumps(record, ensure_ascii=False))
            else:
                print(translation)
        return 0
    _print_predictions(args, inputs, names, results, windows)
    return 0
