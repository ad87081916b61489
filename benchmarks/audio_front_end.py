"""Audio front ends in LiteRT files: Keras's layers against ours.

A waveform model on a phone must turn samples into features inside the
file. This script exports a one-layer model (`(1, samples)` waveform in,
spectrogram out) for each front end and asks the real runtimes where the
file runs:

- `keras.layers.STFTSpectrogram(mode="log")` (a convolution DFT, log
  magnitude, no mel bank) with our framing (400 / 160 / 512);
- `keras.layers.MelSpectrogram` (`ops.stft`, a mel bank, decibels) with
  the same framing and 40 bands;
- `keras_attn.layers.LogMelSpectrogram` (defaults: 16 kHz, 400 / 160 /
  512, 40 bands);
- our layer at `frame_length=512`, where the layer's own power spectrum of
  a full-scale frame passes float16's largest value (65504).

Each model is written by our `keras_attn.export.to_tflite` (for ours, in
its lowered form, `export._forms.log_mel_spectrogram`) and by Keras's own
`model.export(path, format="litert")` with a static `(1, samples)` input
signature (for ours this is the layer's own call, not lowered). For each
file: the operators (Flex and custom ones named), LiteRT's CPU
interpreter against Keras, LiteRT's GPU accelerator alone in float16 and
float32 (whole file or the refused operators with the accelerator's
words; the GPU's outputs against the CPU interpreter's on synthetic
clips: full-scale tone, chirp, square wave, white noise, a near-silent
clip, silence and a saturated clip (every sample +1, whose 0 Hz power in
a 512-sample frame is 65,536), all bands, and for log-mel only the bands
within 40 dB of their frame's loudest band) and Qualcomm's NPU compiler
for each SoC (ops offloaded, partitions), and the CPU interpreter's
median time per 1 s clip on 2 threads.

On a machine without a GPU, Mesa's software Vulkan driver (lavapipe)
serves the GPU accelerator's code path (`.ci/install_lavapipe.sh`); the
NPU compiler needs Qualcomm's host libraries
(`keras_attn.export.accelerators.fetch_qnn_libraries()`). Either missing
is reported, not fatal.

    python benchmarks/audio_front_end.py \\
        --output benchmarks/results/audio_front_end.json
    python benchmarks/audio_front_end.py --tiny   # one SoC, short clips
"""

import argparse
import datetime
import json
import math
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np

SAMPLE_RATE = 16000
FRAMING = {"frame_length": 400, "frame_step": 160, "fft_length": 512}
MEL_BINS = 40
WITHIN_DB = 40.0


def clips(samples, seed=0):
    """`{name: float32 (samples,)}` synthetic clips in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / SAMPLE_RATE
    seconds = samples / SAMPLE_RATE
    sweep = 100.0 + (6000.0 - 100.0) * t / (2 * seconds)
    waves = {
        "tone 440 Hz": np.sin(2 * np.pi * 440 * t),
        "chirp 100-6000 Hz": np.sin(2 * np.pi * sweep * t),
        "square 300 Hz": np.sign(np.sin(2 * np.pi * 300 * t) + 1e-9),
        "white noise": rng.uniform(-1, 1, samples),
        "near-silent (1e-4 rms)": 1e-4 * rng.standard_normal(samples),
        "silence": np.zeros(samples),
        "saturated (all +1)": np.ones(samples),
    }
    return {name: wave.astype("float32") for name, wave in waves.items()}


def front_ends():
    """`{name: (builder, kind)}`; kind `"log-mel"` for ours."""
    import keras

    from keras_attn.layers import LogMelSpectrogram

    def stft():
        return keras.layers.STFTSpectrogram(
            mode="log",
            frame_length=FRAMING["frame_length"],
            frame_step=FRAMING["frame_step"],
            fft_length=FRAMING["fft_length"],
            periodic=True,
            scaling=None,
        )

    def mel():
        return keras.layers.MelSpectrogram(
            fft_length=FRAMING["fft_length"],
            sequence_stride=FRAMING["frame_step"],
            sequence_length=FRAMING["frame_length"],
            sampling_rate=SAMPLE_RATE,
            num_mel_bins=MEL_BINS,
        )

    return {
        "Keras STFTSpectrogram": (stft, "log-magnitude"),
        "Keras MelSpectrogram": (mel, "decibels"),
        "ours LogMelSpectrogram": (
            lambda: LogMelSpectrogram(num_mel_bins=MEL_BINS, **FRAMING),
            "log-mel",
        ),
        "ours, frame_length=512": (
            lambda: LogMelSpectrogram(
                num_mel_bins=MEL_BINS,
                frame_length=512,
                frame_step=160,
                fft_length=512,
            ),
            "log-mel",
        ),
    }


def model_for(builder, samples):
    import keras

    inputs = keras.Input((samples,), name="waveforms")
    layer = builder()
    x = inputs
    if isinstance(layer, keras.layers.STFTSpectrogram):
        x = keras.layers.Reshape((samples, 1))(x)  # (B, S, channels)
    return keras.Model(inputs, layer(x))


def export_ours(model, path, sample):
    from keras_attn.export import to_tflite

    report = to_tflite(
        model,
        path,
        sample_data=[{"waveforms": sample}],
        num_samples=1,
        measure_latency=False,
    )
    return float(max(report.max_abs_diff.values()))


def export_keras(model, path, samples):
    import tensorflow as tf

    model.export(
        str(path),
        format="litert",
        verbose=False,
        input_signature=[tf.TensorSpec((1, samples), tf.float32)],
    )


def input_name(path):
    """The file's one input name (Keras's export names it as it likes)."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return next(iter(runner.get_input_details()))


def cpu_run(path, waves):
    """The CPU interpreter's outputs, one array per clip."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=2)
    runner = interpreter.get_signature_runner()
    name = next(iter(runner.get_input_details()))
    return [
        np.asarray(next(iter(runner(**{name: w[None]}).values())))
        for w in waves
    ]


def cpu_milliseconds(path, wave, runs):
    """Median CPU interpreter time per call, 2 threads."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=2)
    runner = interpreter.get_signature_runner()
    name = next(iter(runner.get_input_details()))
    feed = {name: wave[None]}
    for _ in range(3):
        runner(**feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runner(**feed)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def _finite(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else str(value)


def _loud_bands(values):
    """Bands within WITHIN_DB of their frame's loudest (log-mel)."""
    nats = WITHIN_DB / 10.0 * math.log(10.0)
    return values >= values.max(axis=-1, keepdims=True) - nats


def gpu_row(path, waves, names, precision, kind):
    from keras_attn.export import accelerators

    name = input_name(path)
    batches = [{name: w[None]} for w in waves]
    check, outputs = accelerators.run_on_gpu(path, batches, precision)
    row = {
        "available": check.available,
        "fully_accelerated": check.fully_accelerated,
        "accelerated_ops": check.accelerated_ops,
        "total_ops": check.total_ops,
        "refused": check.refused,
        "reason": check.reason,
    }
    if not outputs:
        return row
    cpu = cpu_run(path, waves)
    per_clip = {}
    for name, got, want in zip(names, outputs, cpu, strict=True):
        got = np.asarray(next(iter(got.values())), "float64")
        got = got.reshape(want.shape)
        want = want.astype("float64")
        entry = {
            "finite": bool(np.all(np.isfinite(got))),
            "max_abs_diff": _finite(np.max(np.abs(got - want))),
        }
        if kind == "log-mel":
            keep = _loud_bands(want)
            entry["max_abs_diff_within_40db"] = _finite(
                np.max(np.abs(got - want)[keep])
            )
        per_clip[name] = entry
    row["clips"] = per_clip
    return row


def npu_rows(path, socs):
    from keras_attn.export import accelerators

    rows = {}
    for check in accelerators.check_npu(path, socs):
        rows[check.target] = {
            "available": check.available,
            "fully_accelerated": check.fully_accelerated,
            "accelerated_ops": check.accelerated_ops,
            "total_ops": check.total_ops,
            "partitions": check.partitions,
            "refused": check.refused,
            "reason": check.reason,
        }
    return rows


def measure(args, workdir):
    import keras

    from keras_attn.export import inspect_tflite
    from keras_attn.export.accelerators import QUALCOMM_SOCS

    samples = args.samples
    waves_by_name = clips(samples)
    names, waves = list(waves_by_name), list(waves_by_name.values())
    socs = list(args.socs or QUALCOMM_SOCS)
    rows = []
    for name, (builder, kind) in front_ends().items():
        keras.utils.set_random_seed(0)
        model = model_for(builder, samples)
        expected = [np.asarray(model(w[None])) for w in waves]
        for exporter in ("to_tflite", "Keras export"):
            label = f"{name} / {exporter}"
            print(f"[{label}] exporting ...", flush=True)
            path = workdir / (
                name.replace(" ", "_").replace(",", "").replace("=", "")
                + ("_ours" if exporter == "to_tflite" else "_keras")
                + ".tflite"
            )
            row = {"front_end": name, "exporter": exporter, "output": kind}
            try:
                if exporter == "to_tflite":
                    export_ours(model, path, waves[0][None])
                else:
                    export_keras(model, path, samples)
            except Exception as error:  # reported, not raised
                row["error"] = f"{type(error).__name__}: {error}"[:1500]
                print(f"[{label}] failed: {row['error'][:300]}", flush=True)
                rows.append(row)
                continue
            info = inspect_tflite(path)
            row["ops"] = info["ops"]
            row["op_count"] = int(sum(info["ops"].values()))
            row["non_builtin_ops"] = info["non_builtin_ops"]
            row["size_bytes"] = info["size_bytes"]
            try:
                got = cpu_run(path, waves)
                row["cpu_vs_keras"] = _finite(
                    max(
                        float(np.max(np.abs(g.reshape(e.shape) - e)))
                        for g, e in zip(got, expected, strict=True)
                    )
                )
                row["cpu_ms_per_clip"] = cpu_milliseconds(
                    path, waves[3], args.runs
                )
            except Exception as error:
                row["cpu_error"] = f"{type(error).__name__}: {error}"[:600]
            row["gpu"] = {
                precision: gpu_row(path, waves, names, precision, kind)
                for precision in ("float16", "float32")
            }
            row["npu"] = npu_rows(path, socs)
            rows.append(row)
            print(summary_line(row), flush=True)
    return {"clips": names, "samples": samples, "rows": rows}


def gpu_cell(gpu):
    if not gpu.get("available", True):
        return "not checked"
    if gpu.get("fully_accelerated"):
        clips = gpu.get("clips", {})
        worst = [c["max_abs_diff"] for c in clips.values()]
        finite = all(c["finite"] for c in clips.values())
        words = "whole"
        if worst:
            numbers = [w for w in worst if isinstance(w, float)]
            words += f", max diff {max(numbers):.3g}" if numbers else ""
            if not finite:
                words += ", inf/NaN"
        loud = [
            c["max_abs_diff_within_40db"]
            for c in clips.values()
            if isinstance(c.get("max_abs_diff_within_40db"), float)
        ]
        if loud:
            words += f" (within 40 dB: {max(loud):.3g})"
        return words
    ops = sorted({r["op"] for r in gpu.get("refused", [])})
    count = ""
    if gpu.get("accelerated_ops") is not None:
        count = f"{gpu['accelerated_ops']}/{gpu['total_ops']} ops; "
    return f"refused: {count}" + ", ".join(ops)


def npu_cell(npu):
    if not npu:
        return "-"
    if not all(c["available"] for c in npu.values()):
        return "not checked"
    whole = [s for s, c in npu.items() if c["fully_accelerated"]]
    if len(whole) == len(npu):
        first = next(iter(npu.values()))
        return (
            f"whole on {len(whole)}/{len(npu)} SoCs, "
            f"{first['accelerated_ops']}/{first['total_ops']} ops, "
            f"{first['partitions']} partition"
        )
    failed = [s for s, c in npu.items() if not c["fully_accelerated"]]
    example = npu[failed[0]]
    words = f"whole on {len(whole)}/{len(npu)}"
    if example.get("partitions") is not None:
        words += (
            f"; {failed[0]}: {example['accelerated_ops']}/"
            f"{example['total_ops']} ops in {example['partitions']} "
            "partitions"
        )
    elif example.get("reason"):
        words += f"; {failed[0]}: {example['reason'][:80]}"
    return words


def summary_line(row):
    if "error" in row:
        return f"{row['front_end']} / {row['exporter']}: {row['error'][:200]}"
    flex = row["non_builtin_ops"] or "none"
    return (
        f"{row['front_end']} / {row['exporter']}: {row['op_count']} ops "
        f"{row['ops']}; non-builtin {flex}; CPU vs Keras "
        f"{row.get('cpu_vs_keras')}; {row.get('cpu_ms_per_clip', 0):.2f} ms"
        f"\n    GPU float16: {gpu_cell(row['gpu']['float16'])}"
        f"\n    GPU float32: {gpu_cell(row['gpu']['float32'])}"
        f"\n    NPU: {npu_cell(row['npu'])}"
    )


def table(result):
    lines = [
        "| front end | file | ops | CPU vs Keras | CPU ms / 1 s clip "
        "| GPU float16 | GPU float32 | Qualcomm NPU |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        if "error" in row:
            lines.append(
                f"| {row['front_end']} | {row['exporter']} | failed: "
                f"{row['error'][:120]} | | | | | |"
            )
            continue
        ops = f"{row['op_count']}"
        if row["non_builtin_ops"]:
            ops += f" (non-builtin: {row['non_builtin_ops']})"
        if "RFFT2D" in row["ops"]:
            ops += ", RFFT2D"
        diff = row.get("cpu_vs_keras")
        lines.append(
            f"| {row['front_end']} | {row['exporter']} | {ops} "
            f"| {diff if isinstance(diff, str) else f'{diff:.2g}'} "
            f"| {row.get('cpu_ms_per_clip', float('nan')):.2f} "
            f"| {gpu_cell(row['gpu']['float16'])} "
            f"| {gpu_cell(row['gpu']['float32'])} "
            f"| {npu_cell(row['npu'])} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=SAMPLE_RATE)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--socs", nargs="*", help="Qualcomm SoCs")
    parser.add_argument("--output", help="write the results as JSON here")
    parser.add_argument("--tiny", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)
    if args.tiny:
        args.samples, args.runs, args.socs = 2000, 3, ["SM8650"]
    return args


def main(argv=None):
    args = parse_args(argv)
    import ai_edge_litert
    import keras
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="audio_front_end_") as folder:
        result = measure(args, pathlib.Path(folder))
    result["table"] = table(result)
    result["environment"] = {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "ai_edge_litert": getattr(ai_edge_litert, "__version__", "?"),
        "machine": platform.machine(),
    }
    print(result["table"])
    if args.output:
        pathlib.Path(args.output).write_text(
            json.dumps(result, indent=2) + "\n"
        )
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
