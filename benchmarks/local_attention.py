"""Local (windowed) attention against full attention: time and peak memory.

What is measured
    Four self-attention layers with the same shapes and the same weights
    (batch 1, hidden 256, 4 heads of 64 by default; the anchor's weights,
    with random biases, are copied into the others with `set_weights`):

    * `local`: `keras_attn.layers.MultiHeadAttention(window=r)`, computed
      block by block (blocks of `r` queries against `3 r` keys, folded into
      the batch axis), so its cost and memory grow as `n * 3 r`;
    * `ours_full`: our default `MultiHeadAttention` (full attention);
    * `keras_full`: `keras.layers.MultiHeadAttention`, the anchor (full);
    * `keras_band`: `keras.layers.MultiHeadAttention(sliding_window=r + 1)`,
      the same band as `local`, computed as a dense `(n, n)` mask over full
      attention.

    Before timing, `local` is checked equal to `keras_band` and `ours_full`
    to `keras_full` at every length (the run stops if they differ by more
    than 1e-4), so the two band layers compute the same numbers.

Time (TensorFlow)
    Every step is a `tf.function` (graph mode, no XLA): the forward pass at
    inference (`training=False`) and the forward and backward pass (the
    gradients of the sum of the outputs with respect to the weights). Each
    step runs once to be traced and once more to measure its memory (which
    also sets how many back-to-back steps make a share of about
    `--round-seconds`); then the four layers run in turn, the order rotated
    every round, for `--repeats` rounds. A time is the median over the
    rounds; a time ratio is the median of the per-round ratios (each layer
    against the anchor timed in the same round), with their quartiles.

Peak memory, two measurements
    * TensorFlow's own allocator: the script sets `TF_CPU_ALLOCATOR_USE_BFC
      =true` before TensorFlow is imported, which puts the CPU's tensors in
      a BFC allocator that keeps statistics (without it,
      `tf.config.experimental.get_memory_info("CPU:0")` reads 0). For each
      step: `reset_memory_stats`, one run, then the peak minus the bytes in
      use before the run: the most the step held at once, its output
      included. Memory a kernel library allocates outside TensorFlow's
      allocator (oneDNN scratch, if any) is not counted.
    * XLA's compiled program under JAX: a subprocess with
      `KERAS_BACKEND=jax` builds the same layers and reads
      `jax.jit(stateless_call).lower(...).compile().memory_analysis()`:
      `temp_size_in_bytes` (the scratch the program needs at its peak,
      after XLA's buffer assignment) plus `output_size_in_bytes`. It is
      exact for that program and needs no run (the 8,192-position programs
      are only compiled).

How to read it
    Ratios are layer / `keras_full` (the anchor): below 1 is cheaper. The
    attention itself costs `n^2` for full attention and `n * 3 r` for
    `local`, so its ratio should fall as `3 r / n`; the projections
    (`4 n d^2` multiply-adds for hidden `d`) cost the same in every layer
    and keep the layer's ratio above `3 r / n`. The script prints both
    `3 r / n` and the ratio that counting multiply-adds predicts.

Usage
    python benchmarks/local_attention.py --json out.json --plot out.png
    python benchmarks/local_attention.py --tiny     # a seconds-long smoke run
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path

import numpy as np
from layers import cpu_name  # benchmarks/layers.py: no framework import
from layers import run_steps

# Measure the working tree this file sits in, not an installed copy.
REPO_ROOT = Path(__file__).resolve().parents[1]

LAYERS = ("local", "ours_full", "keras_full", "keras_band")
LABELS = {
    "local": "ours, window=r (block-local)",
    "ours_full": "ours, full",
    "keras_full": "Keras, full (anchor)",
    "keras_band": "Keras, sliding_window=r+1 (dense band)",
}
ANCHOR = "keras_full"
TOLERANCE = 1e-4
TINY = {
    "lengths": [32, 64, 128],
    "window": 4,
    "hidden": 16,
    "heads": 2,
    "repeats": 3,
    "round_seconds": 0.01,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--lengths", type=int, nargs="+", default=[512, 2048, 8192]
    )
    parser.add_argument("--window", type=int, default=64, help="r")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument(
        "--repeats", type=int, default=5, help="Timed rounds (default 5)."
    )
    parser.add_argument(
        "--round-seconds",
        type=float,
        default=0.2,
        help="Approximate length of one layer's share of a round.",
    )
    parser.add_argument(
        "--no-backward",
        action="store_true",
        help="Time the forward pass only.",
    )
    parser.add_argument("--json", metavar="OUT.json", help="Write results.")
    parser.add_argument("--plot", metavar="OUT.png", help="Draw the figure.")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="Lengths 32-128, r 4, hidden 16, 3 repeats (smoke test).",
    )
    parser.add_argument(
        "--jax-memory-worker",
        action="store_true",
        help=argparse.SUPPRESS,  # the JAX subprocess's entry point
    )
    args = parser.parse_args(argv)
    if args.tiny:
        for name, value in TINY.items():
            setattr(args, name, value)
    if args.hidden % args.heads:
        parser.error("--hidden must be divisible by --heads.")
    if args.repeats < 2:
        parser.error("--repeats must be at least 2.")
    short = [n for n in args.lengths if n <= 3 * args.window]
    if short:
        parser.error(
            f"every length must exceed 3 * window = {3 * args.window} for "
            f"the block-local path to run; received {short}."
        )
    return args


# ---------------------------------------------------------------- layers --


def build_layers(keras, args):
    """The four layers, built and holding the anchor's weights."""
    sys.path.insert(0, str(REPO_ROOT))
    from keras_attn import layers

    key_dim = args.hidden // args.heads
    made = {
        "local": layers.MultiHeadAttention(
            args.heads, key_dim=key_dim, window=args.window
        ),
        "ours_full": layers.MultiHeadAttention(args.heads, key_dim=key_dim),
        "keras_full": keras.layers.MultiHeadAttention(args.heads, key_dim),
        "keras_band": keras.layers.MultiHeadAttention(
            args.heads, key_dim, sliding_window=args.window + 1
        ),
    }
    x = np.zeros((1, 8, args.hidden), "float32")
    for layer in made.values():
        layer(x, x)  # builds
    anchor = made[ANCHOR]
    rng = np.random.default_rng(0)
    values = [
        np.asarray(w, "float32")
        if len(w.shape) > 1  # kernels: keep the initializer's scale
        else rng.normal(0.0, 0.1, tuple(w.shape)).astype("float32")
        for w in anchor.weights
    ]
    for layer in made.values():
        shapes = [tuple(w.shape) for w in layer.weights]
        if shapes != [v.shape for v in values]:
            raise RuntimeError(
                f"Weights of {layer.name} do not line up with the anchor's: "
                f"{shapes} against {[v.shape for v in values]}."
            )
        layer.set_weights(values)
    return made


def inputs(args, length):
    rng = np.random.default_rng(length)
    return rng.normal(size=(args.batch, length, args.hidden)).astype("float32")


def ideal(args, length):
    """`3 r / n`, and the layer's cost ratio that multiply-adds predict."""
    r, d = args.window, args.hidden
    # Per position: 4 projections of d x d; attention q.k and p.v over the
    # keys each query sees, for all heads (d multiply-adds per key).
    projections = 4 * d * d
    local = projections + 2 * d * 3 * r
    full = projections + 2 * d * length
    return {"3r/n": 3 * r / length, "macs": local / full}


# ------------------------------------------------------ JAX memory worker --


def jax_memory_worker(args):
    """Prints {length: {layer: {pass: bytes}}} from XLA's buffer assignment."""
    import jax
    import keras

    made = build_layers(keras, args)
    results = {}
    for length in args.lengths:
        x = jax.numpy.asarray(inputs(args, length))
        results[length] = {}
        for name, layer in made.items():
            trainable = [v.value for v in layer.trainable_variables]
            fixed = [v.value for v in layer.non_trainable_variables]

            def forward(trainable, fixed, x, layer=layer, training=False):
                y, _ = layer.stateless_call(
                    trainable, fixed, x, x, training=training
                )
                return y

            def loss(trainable, fixed, x, forward=forward):
                return keras.ops.sum(
                    forward(trainable, fixed, x, training=True)
                )

            passes = {"fwd": forward}
            if not args.no_backward:
                passes["fwd+bwd"] = jax.value_and_grad(loss)
            row = {}
            for pass_name, fn in passes.items():
                lowered = jax.jit(fn).lower(trainable, fixed, x)
                stats = lowered.compile().memory_analysis()
                row[pass_name] = {
                    "temp_bytes": int(stats.temp_size_in_bytes),
                    "output_bytes": int(stats.output_size_in_bytes),
                    "peak_bytes": int(
                        stats.temp_size_in_bytes + stats.output_size_in_bytes
                    ),
                }
            results[length][name] = row
    info = {"jax": jax.__version__, "keras": keras.__version__}
    print("JAX_MEMORY " + json.dumps({"memory": results, "versions": info}))


def jax_memory(argv):
    """Runs the JAX worker in a subprocess; returns its results or None."""
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    command = [sys.executable, __file__, *argv, "--jax-memory-worker"]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("JAX_MEMORY "):
            found = json.loads(line[len("JAX_MEMORY ") :])
            found["memory"] = {
                int(n): rows for n, rows in found["memory"].items()
            }
            return found
    print("NOTE: the JAX memory subprocess failed:\n" + done.stderr[-3000:])
    return None


# ------------------------------------------------------------ TensorFlow --


def make_steps(tf, layer, x, backward):
    if backward:

        def step(x):
            with tf.GradientTape() as tape:
                y = layer(x, x, training=True)
                loss = tf.reduce_sum(y)
            return loss, tape.gradient(loss, layer.trainable_variables)

    else:

        def step(x):
            return layer(x, x, training=False)

    step = tf.function(step, jit_compile=False)
    return lambda: step(x)


def sync(tf, result):
    for tensor in tf.nest.flatten(result):
        tensor.numpy()


def peak_bytes(tf, step):
    """One step: (its result, seconds, the most bytes TensorFlow's CPU
    allocator held during it above what it held before; None where the
    allocator keeps no statistics)."""
    tf.config.experimental.reset_memory_stats("CPU:0")
    before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    start = time.perf_counter()
    result = step()
    sync(tf, result)
    seconds = time.perf_counter() - start
    peak = tf.config.experimental.get_memory_info("CPU:0")["peak"]
    return result, seconds, None if peak == 0 else int(peak - before)


def time_layers(tf, steps, counts, repeats):
    """Rounds of all layers in turn, the order rotated each round; returns
    each layer's ms per step in every round."""
    times = {name: [] for name in steps}
    names = list(steps)
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = run_steps(
                steps[name], counts[name], lambda result: sync(tf, result)
            )
            times[name].append(1e3 * seconds / counts[name])
    return times


def quartiles(values):
    low, mid, high = np.percentile(values, [25, 50, 75])
    return float(low), float(mid), float(high)


def max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def check_outputs(length, outputs):
    """The band layers agree, and the full ones; returns the differences."""
    checks = {
        "local vs keras_band": max_diff(
            outputs["local"], outputs["keras_band"]
        ),
        "ours_full vs keras_full": max_diff(
            outputs["ours_full"], outputs["keras_full"]
        ),
        "local vs keras_full": max_diff(
            outputs["local"], outputs["keras_full"]
        ),
    }
    for pair in ("local vs keras_band", "ours_full vs keras_full"):
        if checks[pair] > TOLERANCE:
            raise RuntimeError(
                f"n={length}: {pair} differ by {checks[pair]:.3g}, more than "
                f"{TOLERANCE}."
            )
    return checks


def measure_tensorflow(args):
    """Per length: output checks, then per pass each layer's times (ms per
    round), median, per-round ratio to the anchor and allocator peak."""
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one retracing note per new step
    made = build_layers(keras, args)
    passes = ("fwd",) if args.no_backward else ("fwd", "fwd+bwd")
    results = {}
    for length in args.lengths:
        x = tf.constant(inputs(args, length))
        row = {}
        for pass_name in passes:
            steps = {
                name: make_steps(tf, layer, x, pass_name == "fwd+bwd")
                for name, layer in made.items()
            }
            outputs, memory, counts = {}, {}, {}
            for name, step in steps.items():
                run_steps(step, 1, lambda result: sync(tf, result))  # traces
                result, seconds, memory[name] = peak_bytes(tf, step)
                counts[name] = max(1, round(args.round_seconds / seconds))
                if pass_name == "fwd":
                    outputs[name] = result.numpy()
                del result
            if pass_name == "fwd":
                row["checks"] = check_outputs(length, outputs)
                del outputs
            times = time_layers(tf, steps, counts, args.repeats)
            anchor = np.asarray(times[ANCHOR])
            timed = {}
            for name in made:
                per_round = np.asarray(times[name]) / anchor
                timed[name] = {
                    "ms": statistics.median(times[name]),
                    "ms_rounds": times[name],
                    "steps_per_round": counts[name],
                    "ratio_to_anchor_quartiles": quartiles(per_round),
                    "tf_peak_bytes": memory[name],
                }
            row[pass_name] = timed
            print(
                f"n={length:>6} {pass_name:>7}: "
                + ", ".join(
                    f"{name} {timed[name]['ms']:.2f} ms" for name in made
                ),
                flush=True,
            )
        results[length] = row
    return results, {"tensorflow": tf.__version__, "keras": keras.__version__}


# ---------------------------------------------------------------- report --


def ratios(args, results, memory):
    """Per length and pass: each layer's time and memory / the anchor's."""
    table = {}
    for length in args.lengths:
        per_pass = {}
        for pass_name in ("fwd", "fwd+bwd"):
            timed = results[length].get(pass_name)
            if timed is None:
                continue
            entry = {}
            for name in LAYERS:
                low, mid, high = timed[name]["ratio_to_anchor_quartiles"]
                cell = {"time": mid, "time_quartiles": [low, high]}
                tf_peak = timed[name]["tf_peak_bytes"]
                tf_anchor = timed[ANCHOR]["tf_peak_bytes"]
                if tf_peak is not None and tf_anchor:
                    cell["tf_memory"] = tf_peak / tf_anchor
                if memory is not None:
                    jax_row = memory[length]
                    cell["jax_memory"] = (
                        jax_row[name][pass_name]["peak_bytes"]
                        / jax_row[ANCHOR][pass_name]["peak_bytes"]
                    )
                entry[name] = cell
            per_pass[pass_name] = entry
        per_pass["ideal"] = ideal(args, length)
        table[length] = per_pass
    return table


def scaling(args, results, memory):
    """Each layer's time (and memory) at the longest length / the shortest,
    beside the length ratio (linear growth) and its square."""
    first, last = args.lengths[0], args.lengths[-1]
    out = {"linear": last / first, "quadratic": (last / first) ** 2}
    for pass_name in ("fwd", "fwd+bwd"):
        if pass_name not in results[first]:
            continue
        for name in LAYERS:
            a, b = results[first][pass_name], results[last][pass_name]
            row = {"time": b[name]["ms"] / a[name]["ms"]}
            if a[name]["tf_peak_bytes"]:
                row["tf_memory"] = (
                    b[name]["tf_peak_bytes"] / a[name]["tf_peak_bytes"]
                )
            if memory is not None:
                row["jax_memory"] = (
                    memory[last][name][pass_name]["peak_bytes"]
                    / memory[first][name][pass_name]["peak_bytes"]
                )
            out.setdefault(pass_name, {})[name] = row
    return out


def print_table(args, results, memory, table):
    mib = 2.0**20
    for pass_name in ("fwd", "fwd+bwd"):
        if pass_name not in results[args.lengths[0]]:
            continue
        print(f"\n{pass_name}: ms, TF peak MiB, XLA peak MiB")
        for length in args.lengths:
            for name in LAYERS:
                cell = results[length][pass_name][name]
                tf_mem = cell["tf_peak_bytes"]
                jax_mem = (
                    memory[length][name][pass_name]["peak_bytes"]
                    if memory
                    else None
                )
                ratio = table[length][pass_name][name]
                print(
                    f"  n={length:>6} {name:>10}: {cell['ms']:9.2f} ms "
                    f"(x{ratio['time']:.3f})  "
                    f"TF {tf_mem / mib if tf_mem else float('nan'):8.1f} "
                    f"(x{ratio.get('tf_memory', float('nan')):.3f})  "
                    f"XLA {jax_mem / mib if jax_mem else float('nan'):8.1f} "
                    f"(x{ratio.get('jax_memory', float('nan')):.3f})"
                )
            print(
                f"  n={length:>6}      ideal: 3r/n "
                f"{table[length]['ideal']['3r/n']:.4f}, multiply-adds "
                f"{table[length]['ideal']['macs']:.4f}"
            )


def plot(args, results, memory, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("time, forward (TF graph)", "ms", "fwd", "time")]
    if "fwd+bwd" in results[args.lengths[0]]:
        panels.append(
            ("time, forward+backward (TF graph)", "ms", "fwd+bwd", "time")
        )
    panels.append(("peak memory, forward (TF allocator)", "MiB", "fwd", "tf"))
    if memory is not None:
        panels.append(
            ("peak memory, forward (XLA program)", "MiB", "fwd", "jax")
        )
    rows = (len(panels) + 1) // 2
    figure, axes = plt.subplots(rows, 2, figsize=(10.0, 4.2 * rows))
    axes = list(np.ravel(axes))
    for spare in axes[len(panels) :]:
        spare.remove()
    axes = axes[: len(panels)]
    styles = {
        "local": ("C0", "o", "-"),
        "ours_full": ("C1", "s", "--"),
        "keras_full": ("C2", "^", "-"),
        "keras_band": ("C3", "v", ":"),
    }
    lengths = np.asarray(args.lengths, float)
    for axis, (title, unit, pass_name, kind) in zip(axes, panels, strict=True):
        for name in LAYERS:
            if kind == "time":
                values = [
                    results[n][pass_name][name]["ms"] for n in args.lengths
                ]
            elif kind == "tf":
                values = [
                    (results[n][pass_name][name]["tf_peak_bytes"] or 0) / 2**20
                    for n in args.lengths
                ]
            else:
                values = [
                    memory[n][name][pass_name]["peak_bytes"] / 2**20
                    for n in args.lengths
                ]
            color, marker, line = styles[name]
            axis.plot(
                lengths,
                values,
                color=color,
                marker=marker,
                linestyle=line,
                label=LABELS[name],
            )
        # Guides through the local layer's first point: slopes 1 and 2.
        start = axis.lines[0].get_ydata()[0]
        axis.plot(
            lengths,
            start * lengths / lengths[0],
            color="0.6",
            linewidth=0.8,
            label="~ n",
        )
        axis.plot(
            lengths,
            start * (lengths / lengths[0]) ** 2,
            color="0.6",
            linewidth=0.8,
            linestyle="-.",
            label="~ n^2",
        )
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks(lengths, [f"{int(n):,}" for n in lengths])
        axis.set_xlabel("positions n")
        axis.set_ylabel(unit)
        axis.set_title(title, fontsize=10)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle(
        f"Local attention (r={args.window}) against full attention: batch "
        f"{args.batch}, hidden {args.hidden}, {args.heads} heads, CPU",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def load():
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[:3]
    except OSError:
        return [f"{v:.2f}" for v in os.getloadavg()]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.jax_memory_worker:
        jax_memory_worker(args)
        return
    os.environ["KERAS_BACKEND"] = "tensorflow"
    # TensorFlow's CPU allocator keeps statistics only as a BFC allocator.
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    started = time.perf_counter()
    load_before = load()
    worker_argv = list(argv)
    for flag in ("--json", "--plot"):  # the worker writes nothing
        if flag in worker_argv:
            i = worker_argv.index(flag)
            del worker_argv[i : i + 2]
    jax_found = jax_memory(worker_argv)
    memory = None if jax_found is None else jax_found["memory"]
    results, versions = measure_tensorflow(args)
    if jax_found is not None:
        versions["jax"] = jax_found["versions"]["jax"]
    table = ratios(args, results, memory)
    grows = scaling(args, results, memory)
    print_table(args, results, memory, table)
    print(f"\nscaling {args.lengths[-1]} / {args.lengths[0]}: {grows}")
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "config": {
            "lengths": args.lengths,
            "window": args.window,
            "hidden": args.hidden,
            "heads": args.heads,
            "key_dim": args.hidden // args.heads,
            "batch": args.batch,
            "repeats": args.repeats,
            "round_seconds": args.round_seconds,
            "dtype": "float32",
            "time": "TensorFlow tf.function (graph, no XLA), median of rounds",
            "tf_memory": "BFC CPU allocator peak above the bytes in use "
            "before one step (TF_CPU_ALLOCATOR_USE_BFC=true)",
            "jax_memory": "XLA memory_analysis of the jitted step: "
            "temp_size_in_bytes + output_size_in_bytes",
        },
        "layers": LABELS,
        "anchor": ANCHOR,
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": load(),
            "python": platform.python_version(),
            **versions,
        },
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
        "jax_memory": memory,
        "ratios_to_anchor": table,
        "scaling_last_over_first": grows,
    }
    print(f"\ntook {report['seconds']} s; load {load_before} -> {load()}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.plot:
        plot(args, results, memory, args.plot)


if __name__ == "__main__":
    main()
