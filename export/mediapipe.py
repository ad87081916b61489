"""`.tflite` files that MediaPipe Tasks runs as they are. Long because
each of the five tasks needs its own adaptation of the model and its own
checks of what MediaPipe will feed it, and they share the one export path
(parity, metadata, packing, footer) that keeps their files alike.

An Android, iOS or web app hands a model file to MediaPipe Tasks
(`TextClassifier`, `TextEmbedder`, `ImageClassifier`, `ImageEmbedder`,
`AudioClassifier`) and passes it a string, an image or audio samples;
MediaPipe tokenizes, scales, resamples and labels with what the file's
TFLite Metadata says (`metadata`). `to_mediapipe` exports with
`to_tflite` (its parity check included), adapts the model where MediaPipe
needs another form of it (int32 `[1, L]` BERT inputs, RGB images, one
normalization value, a pooled embedding, an optional softmax), then
writes the metadata and the packed files, and stamps the integrity footer
last.

What MediaPipe 1.2's BERT tokenizer does (and so what the file's model
sees): lowercases ASCII letters only, never strips accents, splits on
ASCII whitespace, punctuation and CJK characters, then WordPiece with
`##`; `[CLS]`, the first `L - 2` pieces, `[SEP]`, padded with 0, segment
ids 0. `mediapipe_text` is what an app does to a string first so that an
uncased checkpoint's tokenizer and MediaPipe's agree.

What MediaPipe 1.2's AudioClassifier does with a clip (and so what the
file's model sees), from its `AudioToTensorCalculator`
(mediapipe/calculators/tensor/audio_to_tensor_calculator.cc) and
`BuildInputAudioTensorSpecs` (mediapipe/tasks/cc/audio/utils/
audio_tensor_specs.cc): the input must be float32 (or float16) of rank 1
or 2, its last dimension the window; the metadata's `AudioProperties`
give the rate and channels. A clip's channels are averaged to mono; a
clip at another rate is resampled (`audio_dsp::QResampler`: a
Kaiser-windowed sinc of radius r = 5 samples of the slower rate, cutoff
0.9 of the lower Nyquist frequency, and the filter's tail flushed, so n
samples become ceil((n + r) * rate / clip rate), r counted in the clip's
samples: one second at 48 kHz becomes 16005 samples at 16 kHz); then it
is cut into back-to-back windows (no overlap), the last one padded with
zeros, so a clip shorter than the window is one zero-padded window and a
one-second clip at 48 kHz for a one-second 16 kHz model gives two
results, the second of 5 samples and zeros. Each window gives one
result, timestamped at its start.
"""

import pathlib
import tempfile
import warnings

import keras
import numpy as np
from keras import ops

from keras_attn import _compat
from keras_attn import layers
from keras_attn._choices import MEDIAPIPE_TASKS
from keras_attn.export import _defaults
from keras_attn.export import _mediapipe_inputs as checked
from keras_attn.export import _specs
from keras_attn.export import metadata as md
from keras_attn.export._mediapipe_inputs import mediapipe_text
from keras_attn.export.tflite import _to_tflite
from keras_attn.models import bert_sentence_embedder

TASKS = MEDIAPIPE_TASKS
# keras_attn's BERT input names -> the metadata names MediaPipe looks up.
BERT_INPUTS = {
    "token_ids": "ids",
    "padding_mask": "mask",
    "segment_ids": "segment_ids",
}
# The metadata name of an audio model's input.
AUDIO_INPUT = "audio_clip"
# RGB -> grey weights for models trained on one channel.
GRAYSCALE = {"mean": (1 / 3, 1 / 3, 1 / 3), "luma": (0.299, 0.587, 0.114)}


# -- The model MediaPipe runs ------------------------------------------------


def _single_output(model, task):
    output = model.output
    if isinstance(output, (dict, list, tuple)):
        names = list(output) if isinstance(output, dict) else len(output)
        raise ValueError(
            f"A model for {task} must have one output; it has {names}."
        )
    return output


def _softmax(model):
    outputs = keras.layers.Softmax(name="probabilities")(model(model.input))
    return keras.Model(model.input, outputs, name=f"{model.name}_probabilities")


def _text_model(model, task):
    inputs = model.input
    if not isinstance(inputs, dict) or set(inputs) != set(BERT_INPUTS):
        got = sorted(inputs) if isinstance(inputs, dict) else type(inputs)
        raise ValueError(
            f"A model for {task} is a BERT model with dict inputs "
            f"{sorted(BERT_INPUTS)}; received a model with inputs {got}."
        )
    for name, tensor in inputs.items():
        if tensor.dtype != "int32":
            raise ValueError(
                f"MediaPipe feeds int32 BERT inputs; the model's {name!r} "
                f"is {tensor.dtype}. Expected int32 inputs."
            )
    steps = []
    if task == "text_embedder" and isinstance(model.output, dict):
        if "sequence_output" not in model.output:
            raise ValueError(
                "A text_embedder takes a BERT backbone or a model with one "
                f"(batch, dim) output; received outputs {list(model.output)}."
            )
        model = bert_sentence_embedder(model)
        steps.append("sentence embedding: masked mean, L2 norm")
    output = _single_output(model, task)
    if len(output.shape) != 2:
        hint = " (for a sequence: models.bert_sentence_embedder)"
        raise ValueError(
            f"A model for {task} needs a (batch, n) output; received "
            f"{output.shape}{hint if task == 'text_embedder' else ''}."
        )
    return model, steps


def _image_model(model, task, mean, std, grayscale):
    image = model.input
    shape = getattr(image, "shape", None)
    if isinstance(image, (dict, list, tuple)) or len(shape) != 4:
        raise ValueError(
            f"A model for {task} takes one (batch, height, width, "
            f"channels) image input; received {image!r}."
        )
    height, width, channels = shape[1:]
    if height is None or width is None or channels not in (1, 3):
        raise ValueError(
            "MediaPipe needs a fixed image size and 3 (RGB) or 1 (grey) "
            f"channels; the model takes {shape}."
        )
    if channels == 1 and grayscale not in GRAYSCALE:
        raise ValueError(
            "The model takes grey images, but MediaPipe passes RGB (it "
            "refuses an input of depth 1): pass grayscale='mean' or 'luma' "
            f"to convert inside the file; received grayscale={grayscale!r}."
        )
    if channels == 3 and grayscale is not None:
        raise ValueError(
            f"`grayscale` is for models of 1 channel; this one takes {shape}."
        )
    pooling = None
    output = model.output
    if task == "image_embedder" and not isinstance(output, (dict, list, tuple)):
        if len(output.shape) == 3:  # (B, T, D): a ViT backbone?
            patches = [
                layer
                for layer in _compat.flatten_layers(model)
                if isinstance(layer, layers.PatchEmbedding)
            ]
            if not patches:
                raise ValueError(
                    "An image_embedder needs a (batch, dim) output; the "
                    f"model's is {output.shape}, and it is no ViT backbone."
                )
            use_class_token = patches[0].use_class_token
            pooling = "class token" if use_class_token else "mean of patches"
    per_channel = len(set(mean)) > 1 or len(set(std)) > 1
    steps = [
        step
        for step, on in (
            (f"per-channel normalization {mean}, {std}", per_channel),
            (f"RGB to grey ({grayscale})", channels == 1),
            (pooling, pooling),
        )
        if on
    ]
    if steps:
        images = keras.Input((height, width, 3), name="images")
        x = images  # (B, H, W, 3)
        if per_channel:
            x = (x - np.float32(mean)) / np.float32(std)
        if channels == 1:
            weights = np.asarray(GRAYSCALE[grayscale], "float32")
            x = ops.sum(x * weights, axis=-1, keepdims=True)  # (B, H, W, 1)
        x = model(x)
        if pooling == "class token":
            x = x[:, 0]  # (B, D)
        elif pooling:
            x = ops.mean(x, axis=1)  # (B, D)
        # Named, so the signature keeps the name when the exporter's
        # lowering re-runs a nested model (it renames that model's output).
        name = "scores" if task == "image_classifier" else "embedding"
        x = keras.layers.Identity(name=name)(x)
        model = keras.Model(images, x, name=model.name)
    output = _single_output(model, task)
    if len(output.shape) != 2:
        raise ValueError(
            f"A model for {task} needs a (batch, n) output; received "
            f"{output.shape}."
        )
    if per_channel:  # done inside the file: MediaPipe passes pixels as is
        mean, std = [0.0], [1.0]
    return model, steps, [mean[0]], [std[0]]


def _one_input(model):
    inputs = model.input
    if isinstance(inputs, dict) and len(inputs) == 1:
        return next(iter(inputs.values()))
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        return inputs[0]
    return inputs


def _audio_model(model, task):
    waveform = _one_input(model)
    shape = getattr(waveform, "shape", None)
    if isinstance(waveform, (dict, list, tuple)) or len(shape) != 2:
        got = (
            sorted(waveform)
            if isinstance(waveform, dict)
            else getattr(waveform, "shape", waveform)
        )
        raise ValueError(
            f"A model for {task} takes one (batch, samples) waveform input "
            "(MediaPipe feeds mono samples; a model of precomputed "
            f"features such as MFCCs cannot run there); received {got}."
        )
    if shape[1] is None:
        raise ValueError(
            "MediaPipe cuts audio into windows of the input's size: the "
            f"model needs a fixed number of samples; it takes {shape}."
        )
    if waveform.dtype != "float32":
        raise ValueError(
            "MediaPipe feeds float32 samples; the model's waveform input "
            f"is {waveform.dtype}. Expected float32."
        )
    output = _single_output(model, task)
    if len(output.shape) != 2:
        raise ValueError(
            f"A model for {task} needs a (batch, n) output; received "
            f"{output.shape}."
        )
    return model, int(shape[1])


def _front_end_rates(model):
    """The sample rates the model's spectrogram layers were built for."""
    rates = set()
    for layer in _compat.flatten_layers(model):
        if isinstance(layer, keras.layers.MelSpectrogram):
            rates.add(int(layer.sampling_rate))
        elif type(layer).__name__ == "LogMelSpectrogram":
            rate = getattr(layer, "sample_rate", None)
            if _defaults.positive_int(rate):
                rates.add(int(rate))
    return rates


def audio_sample_rate(model, sample_rate=None):
    """The rate MediaPipe resamples clips to for `model`'s file.

    `sample_rate` if given, else the task's `sample_rate` (an
    `AudioClassifier`), else the rate of the model's spectrogram layer.
    A rate that disagrees with the task's or the layer's is refused: the
    model's mel filters are fixed for its own rate.

    Args:
        model: a Keras model or task.
        sample_rate: int (Hz) or None.

    Returns:
        int, Hz.

    Raises:
        ValueError: no rate anywhere, a rate that is not a positive
            int, or one the model disagrees with.

    Example:

    >>> import keras
    >>> waveforms = keras.Input((800,), name="waveforms")
    >>> model = keras.Model(waveforms, keras.layers.Dense(2)(waveforms))
    >>> audio_sample_rate(model, 8000)
    8000
    """
    if sample_rate is not None and not _defaults.positive_int(sample_rate):
        raise ValueError(
            "`sample_rate` must be a positive int (Hz); received "
            f"{sample_rate!r}."
        )
    known = {}
    task_rate = getattr(model, "sample_rate", None)
    if _defaults.positive_int(task_rate):
        known["the task's sample_rate"] = int(task_rate)
    for rate in sorted(_front_end_rates(model)):
        known.setdefault("its spectrogram layer's sample rate", rate)
    if sample_rate is None:
        if not known:
            raise ValueError(
                "MediaPipe resamples clips to the rate the file's metadata "
                "gives: pass `sample_rate` (Hz, the rate the model was "
                "trained at); the model carries none (it is no "
                "AudioClassifier task and has no spectrogram layer)."
            )
        sample_rate = next(iter(known.values()))
    for where, rate in known.items():
        if rate != sample_rate:
            raise ValueError(
                f"The model was built for {rate} Hz ({where}); received "
                f"sample_rate={sample_rate}. Expected {rate} or None."
            )
    return int(sample_rate)


# -- The file ---------------------------------------------------------------


def _metadata(task, model_name, inputs, labels, mean, std, audio=None):
    from keras_attn import __version__

    what = task.replace("_", " ")
    meta = md.ModelMetadata(
        name=model_name,
        description=f"A {what} written by keras_attn for MediaPipe Tasks.",
        version=__version__,
        author="keras_attn",
    )
    if task.startswith("text"):
        vocab = md.AssociatedFile(
            "vocab.txt", "VOCABULARY", "WordPiece vocabulary."
        )
        meta.input_process_units = [md.BertTokenizer(vocab)]
        meta.inputs = [
            md.TensorMetadata(BERT_INPUTS[name], content="feature")
            for name, _, _ in inputs
        ]
    elif task.startswith("audio"):
        rate, samples = audio
        meta.inputs = [
            md.TensorMetadata(
                AUDIO_INPUT,
                description=(
                    f"Mono samples in [-1, 1] at {rate} Hz, windows of "
                    f"{samples}."
                ),
                content=md.AudioProperties(sample_rate=rate, channels=1),
            )
        ]
    else:
        meta.inputs = [
            md.TensorMetadata(
                "image",
                description="RGB image, (pixel - mean) / std.",
                content="image",
                process_units=[md.Normalization(mean, std)],
            )
        ]
    output = md.TensorMetadata(
        "score" if labels else "embedding", content="feature"
    )
    if labels:
        output.description = "Score of each class (labels.txt order)."
        output.associated_files = [
            md.AssociatedFile(
                "labels.txt", "TENSOR_AXIS_LABELS", "Class names."
            )
        ]
    meta.outputs = [output]
    return meta


def _check_file(task, inputs, outputs, sequence_length, samples=None):
    """The exported tensors are what MediaPipe's task graphs accept."""
    problems = []
    if task.startswith("text"):
        for name, shape, dtype in inputs:
            if dtype != "int32" or shape != [1, sequence_length]:
                problems.append(f"input {name} {dtype}{shape}")
    elif task.startswith("audio"):
        ((name, shape, dtype),) = inputs
        if dtype != "float32" or shape != [1, samples]:
            problems.append(f"input {name} {dtype}{shape}")
    else:
        ((name, shape, dtype),) = inputs
        if (
            dtype != "float32"
            or len(shape) != 4
            or shape[0] != 1
            or shape[3] != 3
        ):
            problems.append(f"input {name} {dtype}{shape}")
    for name, shape, dtype in outputs:
        if dtype != "float32" or len(shape) != 2 or shape[0] != 1:
            problems.append(f"output {name} {dtype}{shape}")
    if problems:
        raise ValueError(
            "The exported file does not take what MediaPipe feeds (int32 "
            "[1, L] BERT inputs, a float32 [1, H, W, 3] image or float32 "
            f"[1, samples] audio; float32 [1, n] outputs): "
            f"{', '.join(problems)}."
        )


def _export(
    model, path, task, labels, tokenizer, mean, std, options, audio=None
):
    """`to_tflite` into a scratch folder, then the file with metadata to
    `path`: a failure leaves `path` as it was. `audio`: `(sample rate,
    window samples)` of an audio task."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    length = options["sequence_length"]
    with tempfile.TemporaryDirectory() as scratch:
        plain = pathlib.Path(scratch) / path.name
        report = _to_tflite(model, plain, **options)
        inputs, outputs = md.model_io(plain.read_bytes())
        _check_file(task, inputs, outputs, length, audio and audio[1])
        files = {}
        if tokenizer:
            vocab = "\n".join(tokenizer["tokens"]) + "\n"
            files["vocab.txt"] = vocab.encode("utf-8")
        if labels:
            files["labels.txt"] = ("\n".join(labels) + "\n").encode("utf-8")
        meta = _metadata(task, model.name, inputs, labels, mean, std, audio)
        md.write_file(plain, path, meta, files)
    report.path = str(path)
    report.size_bytes = path.stat().st_size
    return report


def to_mediapipe(
    model,
    path,
    task,
    *,
    labels=None,
    vocabulary=None,
    normalization=None,
    grayscale=None,
    sequence_length=None,
    sample_rate=None,
    probabilities=False,
    **to_tflite_options,
):
    """Exports a `.tflite` file that MediaPipe Tasks runs as it is.

    The file holds TFLite Metadata (the tokenizer and its vocab.txt, the
    labels, the image normalization, the audio sample rate) that
    MediaPipe's `TextClassifier`, `TextEmbedder`, `ImageClassifier`,
    `ImageEmbedder` and `AudioClassifier` read, so an app passes a
    string, an image or audio samples and gets labelled scores or a
    vector (for audio, one result per window of the model's length).
    MediaPipe reports the scores as the file gives them: logits, or with
    `probabilities=True` a softmax computed inside the file (its
    `score_threshold` option compares against those numbers).

    Args:
        model: a Keras model. Text: a BERT model (`token_ids`,
            `segment_ids`, `padding_mask` int32 inputs) with one
            `(batch, classes)` output for a classifier; for an embedder
            one `(batch, dim)` output or a BERT backbone (its
            `bert_sentence_embedder` is exported). Images: one
            `(batch, height, width, 3 or 1)` input and one `(batch, n)`
            output, or for an embedder a ViT backbone (its class token,
            or the mean of the patches without one). Audio: one
            `(batch, samples)` float32 waveform input of a fixed length
            (the window MediaPipe cuts clips into) and one
            `(batch, classes)` output, such as
            `models.audio.audio_classifier` or its `AudioClassifier` task.
        path: the `.tflite` file to write.
        task: one of `TASKS`.
        labels: classifiers: the class names in output order, a list or
            a file with one a line; None takes the task's `class_names`.
        vocabulary: text: the checkpoint folder (its vocab.txt, and
            tokenizer_config.json for the casing), a vocab.txt (casing
            assumed uncased), or a keras-hub `BertTokenizer` or
            preprocessor; None takes the task's tokenizer.
        normalization: images: `(mean, std)` such that the model's input
            is `(pixel - mean) / std` of 0..255 pixels; one value each,
            or one a channel (then computed inside the file: MediaPipe
            takes one value). None takes the task's image converter's
            (mean `-offset / scale`, std `1 / scale`).
        grayscale: images, for a model of 1 channel: `"mean"` or
            `"luma"` (0.299 R + 0.587 G + 0.114 B), computed inside the
            file from MediaPipe's RGB.
        sequence_length: int. Text: tokens per call (MediaPipe keeps
            `[CLS]`, the first `sequence_length - 2` pieces, `[SEP]`).
            None: the length the task was trained at, else the inputs'
            fixed length, else 128 or the position table's size if
            smaller. Above the table: refused; not the trained length:
            a `UserWarning` naming both.
        sample_rate: int, Hz. Audio: the rate MediaPipe resamples clips
            to (written as the input's `AudioProperties`, 1 channel).
            None takes the task's `sample_rate`, else the model's
            spectrogram layer's; a rate the model disagrees with is
            refused.
        probabilities: bool. Classifiers: append a softmax.
        **to_tflite_options: passed to `to_tflite` (`quantization`,
            `representative_data`, `sample_data`, `measure_latency`...).

    Returns:
        `to_tflite`'s `ExportReport`, with a `mediapipe` dict: `task`,
        `tokenizer`, `labels`, `scores`, `normalization`, `audio`
        (`sample_rate`, `channels`, `window_samples`), `in_graph` (what
        was added to the model) and `warnings` (each issued once with
        `warnings.warn`; the printed report leaves them out).

    Raises:
        ValueError: for a task, model or argument MediaPipe cannot take
            (what was expected and what was received).

    Example:

    >>> import os, tempfile, warnings
    >>> from keras_attn import models
    >>> folder = tempfile.mkdtemp()
    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world"]
    >>> _ = open(os.path.join(folder, "vocab.txt"), "w").write(
    ...     "\\n".join(tokens) + "\\n")
    >>> backbone = models.bert_backbone(
    ...     "bert_tiny", vocabulary_size=6, num_layers=1)
    >>> path = os.path.join(folder, "embedder.tflite")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the accents warning
    ...     report = to_mediapipe(backbone, path, "text_embedder",
    ...                           vocabulary=folder, sequence_length=16,
    ...                           measure_latency=False)
    >>> report.mediapipe["task"], report.mediapipe["tokenizer"]["vocab_size"]
    ('text_embedder', 6)
    """
    if task not in TASKS:
        raise ValueError(
            f"`task` must be one of {list(TASKS)}; received {task!r}."
        )
    if not str(path).endswith(".tflite"):
        raise ValueError(
            f"The output path must end in .tflite; received {path!r}."
        )
    text, classifier = task.startswith("text"), task.endswith("classifier")
    vision, audio = task.startswith("image"), task.startswith("audio")
    misplaced = {
        "labels": labels is not None and not classifier,
        "probabilities": probabilities and not classifier,
        "vocabulary": vocabulary is not None and not text,
        "sequence_length": sequence_length is not None and not text,
        "normalization": normalization is not None and not vision,
        "grayscale": grayscale is not None and not vision,
        "sample_rate": sample_rate is not None and not audio,
    }
    if any(misplaced.values()):
        wrong = [name for name, bad in misplaced.items() if bad]
        raise ValueError(f"{wrong} do not apply to a {task}.")
    for option, allowed in (("batch_size", 1), ("allow_flex", False)):
        if to_tflite_options.pop(option, allowed) != allowed:
            raise ValueError(
                f"MediaPipe runs batch 1 with builtin operators: `{option}` "
                f"must be {allowed!r}."
            )
    trained = _defaults.trained_with(model)
    if classifier and labels is None:
        labels = trained.class_names
    labels = checked.labels(labels, task) if classifier else None
    notes, tokenizer, mean, std, window = [], None, None, None, None
    if text:
        sequence_length, note = _defaults.mediapipe_length(
            model, sequence_length
        )
        tokenizer = checked.tokenizer(vocabulary, trained.tokenizer)
        notes = [note] if note else []
        notes += checked.tokenizer_warnings(tokenizer)
        size = _specs._sizes(model)[0]
        if size is not None and len(tokenizer["tokens"]) > size:
            raise ValueError(
                f"The vocabulary has {len(tokenizer['tokens'])} tokens; the "
                f"model's token table has {size} rows. Expected at most {size}."
            )
        model, steps = _text_model(model, task)
    elif audio:
        model, samples = _audio_model(model, task)
        sample_rate = audio_sample_rate(model, sample_rate)
        window = (sample_rate, samples)
        steps = []
    else:
        image = model.input
        channels = image.shape[-1] if hasattr(image, "shape") else None
        if normalization is None:
            normalization = trained.normalization
        mean, std = checked.normalization(normalization, channels or 3)
        model, steps, mean, std = _image_model(
            model, task, mean, std, grayscale
        )
        sequence_length = None
    if classifier:
        classes = model.output.shape[-1]
        if classes != len(labels):
            raise ValueError(
                f"The model scores {classes} classes; received "
                f"{len(labels)} labels: {labels[:8]}."
            )
    if probabilities:
        model = _softmax(model)
        steps.append("softmax")
    options = dict(to_tflite_options, sequence_length=sequence_length)
    report = _export(
        model, path, task, labels, tokenizer, mean, std, options, window
    )
    for note in notes:
        warnings.warn(note, stacklevel=2)
    report.mediapipe = {
        "task": task,
        "tokenizer": tokenizer
        and {
            "type": "bert",
            "vocab_size": len(tokenizer["tokens"]),
            "source": tokenizer["source"],
            "lowercase": tokenizer["lowercase"],
            "strip_accents": tokenizer["strip_accents"],
            "settings_assumed": tokenizer["assumed"],
            "sequence_length": sequence_length,
        },
        "labels": labels,
        "scores": classifier
        and ("probabilities" if probabilities else "logits"),
        "normalization": {"mean": mean, "std": std} if vision else None,
        "audio": window
        and {
            "sample_rate": window[0],
            "channels": 1,
            "window_samples": window[1],
        },
        "in_graph": steps,
        "warnings": notes,
    }
    return report


__all__ = [
    "AUDIO_INPUT",
    "GRAYSCALE",
    "TASKS",
    "audio_sample_rate",
    "mediapipe_text",
    "to_mediapipe",
]
