"""LiteRT CPU time per clip of the waveform audio classifier: `to_tflite`
against Keras's own export of the same model, the front end's share and
the real-time factor.

The model is `AudioClassifier.from_preset("audio_tiny")` over the six
drum classes (random weights: speed does not depend on training), or a
trained task saved by `audio_drums.py --save` (`--model`). Its input is
a 1 s clip at 16 kHz (`waveforms` `(1, 16000)`): the log-mel front end
(`layers.LogMelSpectrogram`: framing and window as a strided
convolution, the DFT's power, the mel matrix product, the log), then the
encoder. Ours is `keras_attn.export.to_tflite` of the task (batch 1).
The anchor is what a Keras user gets: Keras 3's
`model.export(path, format="litert")` of the same functional network
(batch left dynamic, Keras's default), through `benchmarks/tflite.py`'s
`export_anchor`.

The front end's share: a file of the front end alone (the task's
`waveforms` to its normalized log-mel spectrogram, the `log_mel` and
`feature_normalization` layers, exported by each exporter), timed in the
same rounds, over the whole file's time.

Every file runs in this process with the `ai-edge-litert` interpreter
on the same clips (one clip a call, `--threads` threads); timings
alternate between the files in rounds so that a busy machine slows them
alike. Reported: median milliseconds per clip, ours as a ratio of
Keras's (the goal: at most 0.85), the front end's milliseconds and
share, the real-time factor (seconds of audio per second of compute:
clip seconds over seconds per clip), sizes, operator counts, and each
file's largest logit difference from the Keras model.

    python benchmarks/audio_tflite.py \\
        --output benchmarks/results/audio_tflite.json
    python benchmarks/audio_tflite.py --model drums.keras --rounds 7
    python benchmarks/audio_tflite.py --tiny      # seconds, a smoke test
"""

import argparse
import importlib.util
import json
import os
import pathlib
import platform
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
CLASSES = ["kick", "snare", "hihat", "cymbal", "tom", "clap"]


def _base():
    """benchmarks/tflite.py, loaded by path (its `export_anchor`)."""
    spec = importlib.util.spec_from_file_location(
        "benchmarks_tflite", HERE / "tflite.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_task(args):
    import keras

    from keras_attn.models.audio import AudioClassifier

    if args.model:
        return keras.saving.load_model(args.model)
    keras.utils.set_random_seed(0)
    overrides = {"num_layers": 1} if args.tiny else {}
    return AudioClassifier.from_preset(
        args.preset, class_names=CLASSES, **overrides
    )


def networks(task):
    """`(whole, front)`: the task's functional network, and its front end
    alone (waveforms to the normalized log-mel frames)."""
    import keras

    backbone = task.backbone
    whole = keras.Model(task.input, task.output, name="audio_classifier")
    front = keras.Model(
        backbone.input,
        backbone.get_layer("feature_normalization").output,
        name="audio_front_end",
    )
    return whole, front


def clips(samples, rate, count, seed=0):
    """`count` made-up drum-like clips: a decaying noise burst and a
    decaying tone, at random levels and delays, batch 1 each."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / rate
    found = []
    for _ in range(count):
        delay = rng.uniform(0.0, 0.1)
        envelope = np.exp(-np.clip(t - delay, 0, None) * rng.uniform(5, 40))
        envelope[t < delay] = 0.0
        tone = np.sin(2 * np.pi * rng.uniform(50, 400) * t)
        wave = envelope * (0.5 * tone + 0.5 * rng.normal(0, 0.5, samples))
        level = 10 ** (rng.uniform(-20, 0) / 20)
        wave = np.clip(level * wave, -1, 1).astype("float32")
        found.append({"waveforms": wave[None]})
    return found


def measure(args, workdir):
    from keras_attn.export import LiteRTRunner
    from keras_attn.export import count_ops
    from keras_attn.export import to_tflite
    from keras_attn.export.litert import compare

    base = _base()
    task = build_task(args)
    whole, front = networks(task)
    rate, samples = task.sample_rate, task.clip_samples
    batches = clips(samples, rate, 3)
    paths = {
        "keras": workdir / "audio_keras.tflite",
        "keras_attn": workdir / "audio_keras_attn.tflite",
        "keras_front_end": workdir / "audio_front_keras.tflite",
        "keras_attn_front_end": workdir / "audio_front_keras_attn.tflite",
    }
    print("exporting with Keras ...", flush=True)
    base.export_anchor(whole, paths["keras"], None, None)
    base.export_anchor(front, paths["keras_front_end"], None, None)
    print("exporting with keras_attn ...", flush=True)
    to_tflite(task, paths["keras_attn"], measure_latency=False)
    to_tflite(front, paths["keras_attn_front_end"], measure_latency=False)
    runners = {
        name: LiteRTRunner(path, num_threads=args.threads)
        for name, path in paths.items()
    }
    references = {
        "whole": [
            {"logits": np.asarray(whole(b["waveforms"], training=False))}
            for b in batches
        ],
        "front": [
            {"frames": np.asarray(front(b["waveforms"], training=False))}
            for b in batches
        ],
    }
    result = {
        "preset": args.preset if not args.model else None,
        "model": pathlib.Path(args.model).name if args.model else None,
        "sample_rate": rate,
        "clip_samples": samples,
        "clip_seconds": samples / rate,
        "parameters": int(task.count_params()),
    }
    for name, runner in runners.items():
        kind = "front" if name.endswith("front_end") else "whole"
        worst = 0.0
        for batch, expected in zip(batches, references[kind], strict=True):
            got = runner(batch)
            absolute, _ = compare(expected, base._matched(expected, got))
            worst = max(worst, *absolute.values())
        blob = paths[name].read_bytes()
        ops = count_ops(blob)
        result[name] = {
            "size_mb": len(blob) / 1e6,
            "op_count": sum(ops.values()),
            "ops": ops,
            "max_abs_diff_vs_keras": worst,
            "times_ms": [],
        }
        print(
            f"{name}: {sum(ops.values())} ops, largest difference from "
            f"Keras {worst:.2g}",
            flush=True,
        )
    for index in range(args.rounds):
        for name, runner in runners.items():
            for batch in batches:
                result[name]["times_ms"].append(
                    runner.latency_ms(batch, runs=args.runs, warmup=2)
                )
        print(
            f"round {index + 1}: "
            + ", ".join(
                f"{name} {np.median(result[name]['times_ms'][-3:]):.2f} ms"
                for name in runners
            ),
            flush=True,
        )
    for name in runners:
        times = result[name]["times_ms"]
        result[name]["ms_per_clip"] = float(np.median(times))
        result[name]["real_time_factor"] = result["clip_seconds"] / (
            result[name]["ms_per_clip"] / 1000
        )
    rounds = {
        name: np.median(
            np.reshape(result[name]["times_ms"], (args.rounds, -1)), axis=1
        )
        for name in runners
    }
    per_round = rounds["keras_attn"] / rounds["keras"]
    result["ours_over_keras"] = (
        result["keras_attn"]["ms_per_clip"] / result["keras"]["ms_per_clip"]
    )
    result["ours_over_keras_per_round"] = [float(r) for r in per_round]
    for name in ("keras", "keras_attn"):
        result[name]["front_end_share"] = (
            result[f"{name}_front_end"]["ms_per_clip"]
            / result[name]["ms_per_clip"]
        )
    return result


def report(result, threads):
    lines = [
        f"{threads} threads, one {result['clip_seconds']:g} s clip a call "
        f"({result['clip_samples']} samples at {result['sample_rate']} Hz)",
        "| file | ms per clip | real-time factor | front end ms | front end "
        "share | MB | ops | max diff from Keras's model |",
        "|" + " --- |" * 8,
    ]
    for name, label in (("keras", "Keras export"), ("keras_attn", "ours")):
        row, front = result[name], result[f"{name}_front_end"]
        lines.append(
            f"| {label} | {row['ms_per_clip']:.2f} | "
            f"{row['real_time_factor']:.0f} | {front['ms_per_clip']:.2f} | "
            f"{row['front_end_share']:.2f} | {row['size_mb']:.2f} | "
            f"{row['op_count']} | {row['max_abs_diff_vs_keras']:.2g} |"
        )
    ratio = result["ours_over_keras"]
    spread = result["ours_over_keras_per_round"]
    verdict = "meets" if ratio <= 0.85 else "MISSES"
    lines.append(
        f"ours / Keras: {ratio:.2f} (per round {min(spread):.2f}-"
        f"{max(spread):.2f}), {verdict} the 0.85 goal"
    )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="audio_tiny")
    parser.add_argument(
        "--model", default=None, help="a saved AudioClassifier (.keras)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20, help="calls per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tiny", action="store_true", help="a 1-layer model")
    parser.add_argument("--output", help="write the results as JSON here")
    parser.add_argument("--workdir", help="keep the .tflite files here")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rounds, args.runs = 2, 5
    return args


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = pathlib.Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        result = measure(args, workdir)
    print()
    print(report(result, args.threads))
    if args.output:
        import ai_edge_litert
        import keras
        import tensorflow as tf

        result["settings"] = {
            "command": " ".join(["python", *sys.argv]),
            "machine": platform.processor() or platform.machine(),
            "threads": args.threads,
            "rounds": args.rounds,
            "runs": args.runs,
            "tiny": args.tiny,
            "versions": {
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "ai_edge_litert": getattr(ai_edge_litert, "__version__", None),
            },
        }
        pathlib.Path(args.output).write_text(
            json.dumps(result, indent=2) + "\n"
        )
        print(f"wrote {args.output}")
    return result


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
