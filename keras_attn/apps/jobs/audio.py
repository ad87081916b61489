"""The `keras-attn train audio-classifier` job: an attention audio
classifier from raw waveforms, trained on a folder of labelled clips.

The clips are read with `keras_attn.data.audio.audio_folder` (one
subfolder per class, WAV or FLAC, mixed to mono, resampled to the
model's rate and padded or cropped to its clip length); the network is
`keras_attn.models.audio.audio_classifier`, whose log-mel front end is
inside the model, so the run folder's task (`models.load_task`) and its
MediaPipe file (`keras-attn export RUN/model.keras --to tflite
--mediapipe audio_classifier`) both take samples.
"""

import json
import pathlib

import numpy as np

from keras_attn import training
from keras_attn.apps.jobs._common import check_sizes
from keras_attn.apps.jobs._common import draw_confusion
from keras_attn.apps.jobs._common import row_shares
from keras_attn.apps.jobs._common import say
from keras_attn.apps.jobs._common import write_classes
from keras_attn.apps.jobs._common import write_predictions
from keras_attn.training import distribute


def audio_overrides(preset, sample_rate=None, clip_seconds=None):
    """The `audio_config` overrides of a run at `sample_rate` on clips of
    `clip_seconds`: the preset's own without either. At another rate
    than the preset's, the frames keep the preset's durations (25 ms
    every 10 ms for audio_tiny: 200 and 80 samples at 8 kHz), with the
    FFT the smallest power of two that holds a frame; a new rate without
    a new length keeps the preset's clip duration.

    Args:
        preset: a key of `keras_attn.models.audio.AUDIO_PRESETS`.
        sample_rate: None or int, samples per second.
        clip_seconds: None or float, the model's window in seconds.

    Returns:
        dict: `sample_rate`, `clip_samples`, `frame_length`, `frame_step`
        and `fft_length`, checked by `audio_config`.

    Raises:
        ValueError: a clip shorter than one frame, and what `audio_config`
            refuses.

    Example:

    >>> audio_overrides("audio_tiny", sample_rate=8000, clip_seconds=0.25)
    {'sample_rate': 8000, 'clip_samples': 2000, 'frame_length': 200, \
'frame_step': 80, 'fft_length': 256}
    """
    from keras_attn.models.audio import audio_config

    config = audio_config(preset)
    own = config["sample_rate"]
    rate = own if sample_rate is None else sample_rate
    if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
        raise ValueError(
            f"Expected a positive int sample rate; received {sample_rate!r}."
        )
    if clip_seconds is None:
        clip_seconds = config["clip_samples"] / own
    overrides = {
        "sample_rate": rate,
        "clip_samples": int(round(float(clip_seconds) * rate)),
        "frame_length": config["frame_length"],
        "frame_step": config["frame_step"],
        "fft_length": config["fft_length"],
    }
    if rate != own:
        length = max(2, int(round(config["frame_length"] * rate / own)))
        overrides.update(
            frame_length=length,
            frame_step=max(1, int(round(config["frame_step"] * rate / own))),
            fft_length=1 << (length - 1).bit_length(),
        )
    if overrides["clip_samples"] < overrides["frame_length"]:
        raise ValueError(
            f"Expected clips of at least one frame ({overrides['frame_length']}"
            f" samples, {overrides['frame_length'] / rate * 1000:g} ms at "
            f"{rate} Hz); received clip_seconds={clip_seconds!r} "
            f"({overrides['clip_samples']} samples)."
        )
    audio_config(preset, **overrides)  # what the model refuses, now
    return overrides


def held_out_split(labels, fraction, seed):
    """Training and held-out indices, stratified: each class gives
    `fraction` of its clips (rounded half up), always keeping one for
    training; both parts in an order shuffled with `seed`.

    Args:
        labels: int array `(N,)` of class ids.
        fraction: float in (0, 1).
        seed: int.

    Returns:
        `(train_indices, held_indices)`, int arrays.

    Example:

    >>> labels = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    >>> train, held = held_out_split(labels, 0.2, seed=0)
    >>> sorted(labels[held].tolist()), len(train)
    ([0, 1], 6)
    >>> sorted(np.concatenate([train, held]).tolist()) == list(range(8))
    True
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, held = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = min(
            int(np.floor(len(members) * fraction + 0.5)), len(members) - 1
        )
        held.extend(members[:count].tolist())
        train.extend(members[count:].tolist())
    return (
        rng.permutation(np.asarray(train, "int64")),
        rng.permutation(np.asarray(held, "int64")),
    )


def _relative(path, folder):
    """`path` as written under `folder` (`kick/01.wav`), else whole."""
    try:
        return pathlib.Path(path).relative_to(folder).as_posix()
    except ValueError:
        return str(path)


def _described(folder, clips):
    counts = np.bincount(clips.labels, minlength=len(clips.class_names))
    per_class = ", ".join(
        f"{name} {count}"
        for name, count in zip(clips.class_names, counts, strict=True)
    )
    return f"{folder}: {len(clips.labels)} clips ({per_class})"


def audio_clips(
    train,
    eval,
    sample_rate,
    clip_samples,
    held_out=0.2,
    seed=0,
    skip_bad_files=False,
):
    """Reads the clips of a run: `--train`, and `--eval` or a held-out
    share of `--train`.

    Args:
        train: folder with one subfolder of clips per class.
        eval: None, or a folder of the training classes (all or some).
        sample_rate, clip_samples: ints; every clip is resampled and
            padded or cropped to them.
        held_out: float. The share of each class held out without `eval`.
        seed: int. Chooses the held-out clips.
        skip_bad_files: bool. Leave out files that are not audio, are
            empty or are silent (`audio_folder` warns, counts them and
            names the first) instead of stopping at the first.

    Returns:
        dict: `x_train`, `y_train`, `x_eval`, `y_eval`, the class `names`,
        the evaluation clips' `references` (paths under their folder) and
        `evaluated_on` (a sentence).

    Raises:
        ValueError: fewer than 2 classes, evaluation classes the
            training folder lacks, too few clips to hold any out, and what
            `audio_folder` raises (a file that is not audio, is empty or
            is silent; a class subfolder without clips).
    """
    from keras_attn.data.audio import audio_folder

    reading = {"skip_bad_files": skip_bad_files}
    clips = audio_folder(train, sample_rate, clip_samples, **reading)
    names = list(clips.class_names)
    say(f"read --train {_described(train, clips)}")
    if len(names) < 2:
        raise ValueError(
            f"{train}: an audio classifier needs at least 2 classes (one "
            f"subfolder of clips each); found {len(names)}: {names}."
        )
    waveforms = np.asarray(clips.waveforms, "float32")
    labels = np.asarray(clips.labels, "int32")
    if eval is not None:
        evaluation = audio_folder(eval, sample_rate, clip_samples, **reading)
        unknown = [n for n in evaluation.class_names if n not in names]
        if unknown:
            raise ValueError(
                f"{eval} has classes {train} lacks: {unknown}; the model "
                f"knows the {len(names)} classes of {train}: {names}."
            )
        index = np.array([names.index(n) for n in evaluation.class_names])
        say(f"read --eval {_described(eval, evaluation)}")
        return {
            "x_train": waveforms,
            "y_train": labels,
            "x_eval": np.asarray(evaluation.waveforms, "float32"),
            "y_eval": index[evaluation.labels].astype("int32"),
            "names": names,
            "references": [_relative(p, eval) for p in evaluation.paths],
            "evaluated_on": f"--eval {eval}",
        }
    keep, held = held_out_split(labels, held_out, seed)
    if not len(held):
        raise ValueError(
            f"{train}: too few clips to hold out {held_out:.0%} of a class "
            "for evaluation (each class keeps one clip to train on); add "
            "clips or give --eval FOLDER."
        )
    evaluated_on = (
        f"held out {len(held)} of the {len(labels)} clips of {train} "
        f"({held_out:.0%} of each class, chosen with the seed)"
    )
    say(evaluated_on)
    return {
        "x_train": waveforms[keep],
        "y_train": labels[keep],
        "x_eval": waveforms[held],
        "y_eval": labels[held],
        "names": names,
        "references": [_relative(clips.paths[i], train) for i in held],
        "evaluated_on": evaluated_on,
    }


def plot_confusion(matrix, names, path, title):
    """The confusion matrix as a PNG: rows the true class, columns the
    predicted one, each row divided by its clips, the share in each cell.

    Returns:
        The saved, closed figure.
    """
    return draw_confusion(row_shares(matrix), names, path, title)


def train_audio_classifier(
    train,
    output,
    eval=None,
    preset="audio_tiny",
    sample_rate=None,
    clip_seconds=None,
    held_out=0.2,
    skip_bad_files=False,
    **options,
):
    """Trains an attention audio classifier from raw waveforms.

    Writes to `output`: `model.keras` (the `audio_classifier` network:
    waveforms `(batch, clip_samples)` in, logits out), `classes.json`
    (the class names, index = the model's output), `task.json` (the
    sample rate and clip length, so that `models.load_task(output)` is an
    `AudioClassifier` and `keras-attn export --mediapipe
    audio_classifier` needs no flags), `metrics.json` (`accuracy`, the
    per-class recall and the confusion matrix), `eval_predictions.tsv`
    (clip, true class, predicted class), `confusion_matrix.png`,
    `history.json`, `training_curves.png` and TensorBoard logs in `logs/`.

    Args:
        train: a folder with one subfolder of clips (WAV or FLAC) per
            class; the subfolder names are the classes, in sorted order.
        output: folder for the model and reports.
        eval: optional folder of the same classes; without it, `held_out`
            of each class of `train` is held out.
        preset: a key of `keras_attn.models.audio.AUDIO_PRESETS`.
        sample_rate: int. The model's rate (default: the preset's); every
            clip is resampled to it, and the spectrogram's frames keep the
            preset's durations (`audio_overrides`).
        clip_seconds: float. The model's window (default: the preset's);
            clips are padded with silence or cropped to it.
        held_out: float. The share of each class held out without `eval`.
        skip_bad_files: bool. Leave out (with a warning) files that are
            not audio, are empty or are silent, instead of stopping.
        **options: passed to `training.train` (`epochs`, `batch_size`,
            `learning_rate`, `strategy`, `precision`, `seed`, ...).

    Returns:
        dict of the evaluation metrics (`metrics.json`).

    Example: a folder of one class stops the job before it trains
    (tests/test_train_audio.py trains one on tones and checks every file
    it writes).

    >>> import pathlib, tempfile, wave
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "tone").mkdir()
    >>> for index in range(2):
    ...     with wave.open(str(folder / "tone" / f"{index}.wav"), "wb") as w:
    ...         w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    ...         w.writeframes(bytes([0, 16] * 800))
    >>> train_audio_classifier(folder, folder / "run", sample_rate=8000)
    Traceback (most recent call last):
    ValueError: ...an audio classifier needs at least 2 classes ...: ['tone'].
    """
    from keras_attn.models.audio import audio_classifier
    from keras_attn.models.tasks import write_task_file

    output = pathlib.Path(output)
    overrides = audio_overrides(preset, sample_rate, clip_seconds)
    rate, samples = overrides["sample_rate"], overrides["clip_samples"]
    clips = audio_clips(
        train,
        eval,
        rate,
        samples,
        held_out,
        options.get("seed", 0),
        skip_bad_files,
    )
    output.mkdir(parents=True, exist_ok=True)
    names = clips["names"]
    x_train, y_train = clips["x_train"], clips["y_train"]
    x_eval, y_eval = clips["x_eval"], clips["y_eval"]
    check_sizes(len(x_train), "An audio classifier")
    say(
        f"{preset} at {rate} Hz on clips of {samples} samples "
        f"({samples / rate:g} s), frames of {overrides['frame_length']} "
        f"every {overrides['frame_step']}"
    )

    def build():
        return audio_classifier(len(names), preset, **overrides)

    options.setdefault("learning_rate", 1e-3)
    options.setdefault("weight_decay", 0.05)
    result = training.train(
        build,
        (x_train, y_train),
        output_dir=output,
        validation_data=(x_eval, y_eval),
        **options,
    )
    batch = options.get("batch_size", 32)
    logits = result.model.predict(x_eval, batch_size=batch, verbose=0)
    predictions = np.argmax(logits, axis=-1)
    matrix = np.zeros((len(names), len(names)), "int64")
    np.add.at(matrix, (y_eval, predictions), 1)
    support = matrix.sum(axis=1)
    metrics = {
        "accuracy": float(np.mean(predictions == y_eval)),
        "per_class_recall": {
            name: float(matrix[i, i] / support[i]) if support[i] else None
            for i, name in enumerate(names)
        },
        "confusion_matrix": matrix.tolist(),
        "classes": names,
        "evaluated_on": clips["evaluated_on"],
        "eval_examples": len(x_eval),
        "train_examples": len(x_train),
        "preset": preset,
        **overrides,
        "best_epoch": result.best_epoch,
    }
    if distribute.is_chief(result.strategy):
        result.model.save(output / "model.keras")
        write_classes(output, names)
        write_task_file(
            output, "audio_classifier", sample_rate=rate, clip_samples=samples
        )
        write_predictions(
            output / "eval_predictions.tsv",
            (
                (reference, names[int(y)], names[int(p)])
                for reference, y, p in zip(
                    clips["references"], y_eval, predictions, strict=True
                )
            ),
        )
        try:
            plot_confusion(
                matrix,
                names,
                output / "confusion_matrix.png",
                f"{preset}: share of each true class's clips",
            )
        except ImportError as error:
            say(f"no confusion_matrix.png: {error}")
    _finish(result, output, metrics, f"{preset} on {train}")
    return metrics


def _finish(result, output, metrics, title):
    """metrics.json and the curves of a chief (`_common.finish`); the
    summary says the scalar metrics and the recall of each class."""
    shown = {
        name: value
        for name, value in metrics.items()
        if name not in ("confusion_matrix", "per_class_recall", "classes")
    }
    if not distribute.is_chief(result.strategy):
        return
    with open(output / "metrics.json", "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    try:
        training.plot_history(
            result.history, output / "training_curves.png", title
        )
    except ImportError as error:
        say(f"no training_curves.png: {error}")
    for name, value in shown.items():
        say(f"{name}: {value}")
    recall = ", ".join(
        f"{name} {value:.3f}"
        for name, value in metrics["per_class_recall"].items()
        if value is not None
    )
    say(f"recall per class: {recall}")
    say(f"wrote {output}")


__all__ = ["train_audio_classifier"]
