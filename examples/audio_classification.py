"""From a folder of sound clips to a MediaPipe audio classifier file.

    python examples/audio_classification.py --output audio-run
    python examples/audio_classification.py --clips path/to/folder \\
        --clip path/to/clip.wav --output audio-run

Step 1 trains an attention audio classifier from raw waveforms with
`keras-attn train audio-classifier` (the same job): on `--clips`, a
folder with one subfolder of WAV or FLAC clips per class; without it, on
a small folder of synthetic sounds the script writes first (tones,
chirps and noise, three classes; no download). A fifth of each class is
held out and scored.

Step 2 loads the run folder as its task (`keras_attn.models.load_task`)
and writes the MediaPipe file with `keras_attn.export.to_mediapipe(task,
path, "audio_classifier")`: the class names and the sample rate come
from the task, the log-mel front end is inside the file, and the file
gives probabilities (`probabilities=True`).

Step 3 classifies one clip (`--clip`, default: a held-out one) with
MediaPipe's own `AudioClassifier` when `mediapipe` is installed, on the
clip's samples at the model's rate and length, and prints how far its
scores are from Keras's. Everything goes to `--output`, with a summary
in `results.json`.

The same from the command line:

    keras-attn train audio-classifier --train FOLDER --output RUN
    keras-attn export RUN/model.keras --to tflite \\
        --mediapipe audio_classifier --output classifier.tflite
    keras-attn predict RUN --input clip.wav
"""

import argparse
import json
import pathlib
import tempfile
import wave

SOUNDS = ("chirp", "noise", "tone")


def write_wav(path, samples, rate):
    """Float samples in [-1, 1] as a 16-bit mono WAV (Python's `wave`)."""
    import numpy as np

    pcm = np.clip(np.round(np.asarray(samples) * 32767), -32768, 32767)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.astype("<i2").tobytes())


def synthetic_clips(folder, per_class, rate, seconds, seed=0):
    """Writes `per_class` clips of each of `SOUNDS` to `folder/<sound>/`:
    a steady tone, a rising or falling chirp, and white noise, each at
    its own level and pitch, about `seconds` long (some shorter, some
    longer: the job pads and crops them). Returns `folder`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    folder = pathlib.Path(folder)
    nyquist = rate / 2
    for sound in SOUNDS:
        (folder / sound).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            count = int(rate * seconds * rng.uniform(0.8, 1.2))
            time = np.arange(count) / rate
            level = rng.uniform(0.2, 0.8)
            if sound == "tone":
                pitch = rng.uniform(0.05, 0.4) * nyquist
                phase = 2 * np.pi * pitch * time
            elif sound == "chirp":
                start = rng.uniform(0.05, 0.2) * nyquist
                end = rng.uniform(0.3, 0.45) * nyquist
                if rng.random() < 0.5:  # falling
                    start, end = end, start
                sweep = (end - start) / time[-1]
                phase = 2 * np.pi * (start * time + sweep * time**2 / 2)
            if sound == "noise":
                samples = rng.uniform(-1, 1, count)
            else:
                samples = np.sin(phase + rng.uniform(0, 2 * np.pi))
            samples = level * samples + rng.normal(0, 0.005, count)
            write_wav(
                folder / sound / f"{sound}_{index:02d}.wav", samples, rate
            )
    return folder


def mediapipe_scores(path, samples, rate, labels):
    """MediaPipe's AudioClassifier on one window of samples: the scores
    in label order (each category checked to carry its label)."""
    import numpy as np
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python import audio
    from mediapipe.tasks.python.components.containers import audio_data

    options = audio.AudioClassifierOptions(
        base_options=BaseOptions(model_asset_path=str(path)),
        max_results=len(labels),
        running_mode=audio.RunningMode.AUDIO_CLIPS,
    )
    clip = audio_data.AudioData.create_from_array(
        np.asarray(samples, "float32"), rate
    )
    scores = np.full(len(labels), np.nan)
    with audio.AudioClassifier.create_from_options(options) as classifier:
        first = classifier.classify(clip)[0]  # one result per window
        (head,) = first.classifications
        for category in head.categories:
            assert category.category_name == labels[category.index]
            scores[category.index] = category.score
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    parser.add_argument(
        "--clips",
        help="folder with one subfolder of .wav or .flac clips per class "
        "(default: synthetic tones, chirps and noise)",
    )
    parser.add_argument(
        "--clip", help="the clip to classify (default: a held-out one)"
    )
    parser.add_argument("--output", default="audio-run")
    parser.add_argument("--preset", default="audio_tiny")
    parser.add_argument(
        "--sample-rate",
        type=int,
        default=None,
        help="the model's rate (default: the preset's, 16000 Hz)",
    )
    parser.add_argument(
        "--clip-seconds",
        type=float,
        default=None,
        help="the model's window (default: the preset's, 1 s)",
    )
    parser.add_argument(
        "--per-class",
        type=int,
        default=20,
        help="synthetic clips of each sound (default 20)",
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)

    import importlib.util

    import numpy as np

    from keras_attn import export
    from keras_attn import models
    from keras_attn.apps import jobs
    from keras_attn.apps.jobs.audio import audio_overrides
    from keras_attn.data.audio import load_clip

    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    overrides = audio_overrides(
        args.preset, args.sample_rate, args.clip_seconds
    )
    rate, samples = overrides["sample_rate"], overrides["clip_samples"]
    scratch = None
    clips = args.clips
    if clips is None:
        scratch = tempfile.TemporaryDirectory()
        clips = synthetic_clips(
            pathlib.Path(scratch.name) / "sounds",
            args.per_class,
            rate,
            samples / rate,
        )
        print(
            f"wrote {args.per_class} synthetic clips of each of "
            f"{', '.join(SOUNDS)} to {clips}"
        )

    # Step 1: the training job of the command line.
    metrics = jobs.train_audio_classifier(
        clips,
        output,
        preset=args.preset,
        sample_rate=rate,
        clip_seconds=samples / rate,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=2,
    )

    # Step 2: the run folder as a task, and its MediaPipe file.
    task = models.load_task(output)
    tflite = output / "audio_classifier.tflite"
    report = export.to_mediapipe(
        task,
        tflite,
        "audio_classifier",
        probabilities=True,
        measure_latency=False,
    )
    print(report)
    print(f"wrote {tflite} ({report.size_bytes / 1e6:.2f} MB)")

    # Step 3: one clip, by Keras and by MediaPipe's AudioClassifier.
    clip = args.clip
    if clip is None:
        rows = (output / "eval_predictions.tsv").read_text().splitlines()
        clip = pathlib.Path(clips) / rows[1].split("\t")[0]
    waveform = load_clip(clip, rate, samples)  # mono, resampled, padded
    keras_scores = task.probabilities(waveform[None])[0]
    names = list(task.class_names)
    best = int(np.argmax(keras_scores))
    print(f"{clip}: Keras says {names[best]} ({keras_scores[best]:.4f})")
    results = {
        "accuracy": metrics["accuracy"],
        "eval_examples": metrics["eval_examples"],
        "classes": names,
        "sample_rate": rate,
        "clip_samples": samples,
        "mediapipe_file": str(tflite),
        "clip": str(clip),
        "keras": {"label": names[best], "scores": keras_scores.tolist()},
    }
    if importlib.util.find_spec("mediapipe") is None:
        print("mediapipe is not installed: pip install mediapipe to run the")
        print("file as an app does; skipping step 3's MediaPipe half")
    else:
        scores = mediapipe_scores(tflite, waveform, rate, names)
        top = int(np.argmax(scores))
        difference = float(np.max(np.abs(scores - keras_scores)))
        print(
            f"{clip}: MediaPipe's AudioClassifier says {names[top]} "
            f"({scores[top]:.4f}); the scores differ by at most "
            f"{difference:.1e}"
        )
        results["mediapipe"] = {
            "label": names[top],
            "scores": scores.tolist(),
            "max_abs_diff": difference,
        }
    with open(output / "results.json", "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
        handle.write("\n")
    print(f"wrote {output / 'results.json'}")
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()
