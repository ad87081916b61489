"""Speed of keras_attn layers side by side with their Keras and keras-hub twins.

What is measured
    Two pairs of layers, each built with the same shapes and configuration
    and holding the same weights (the anchor's random weights are copied into
    ours with `set_weights`; the two weight lists have the same order):

    * `keras_attn.layers.TransformerEncoder` against
      `keras_hub.layers.TransformerEncoder` (post-norm, GELU);
    * `keras_attn.layers.MultiHeadAttention` against
      `keras.layers.MultiHeadAttention`, as self-attention with
      `key_dim = hidden / heads`.

    Each pair runs without a mask and with a padding mask (the last quarter
    of the tokens of every other row is padding, as in a BERT batch), for a
    forward pass (`training=False`) and for a forward and backward pass (the
    gradients of the sum of the outputs with respect to the trainable
    weights, `training=True`; dropout is 0 so both passes take the same
    path). On TensorFlow every step is a `tf.function`, once as a graph and
    once compiled with XLA (`jit_compile=True`); on JAX it is a `jax.jit` of
    `stateless_call` (and of `jax.value_and_grad` of it).

    Before timing, the outputs (forward) or the gradients (forward and
    backward) of the two layers are compared, so that both do the same
    work. The run stops if they differ by more than the dtype allows.

How it is timed
    After a warm-up (tracing and compilation), ours and the anchor run in
    alternation, ours then anchor, for `--repeats` rounds; every round times
    the same number of back-to-back steps for both (chosen so that a round
    lasts about `--round-seconds`) and waits for the last result. Alternating
    exposes both to the same background load and clock changes.

How to read the table
    `ms` is the median time of one step over the rounds, `tok/s` is
    `batch * seq / seconds per step`. `ratio` is anchor time / our time,
    so a ratio above 1.0 means ours is faster (1.25: ours does 25% more
    tokens per second). `IQR` is the interquartile range of the per-round
    ratios: a ratio whose IQR spans 1.0 is a tie. `diff` is the maximum
    absolute difference of the outputs (forward rows) or the maximum
    absolute difference of the gradients divided by the largest gradient
    (forward and backward rows). CPU figures on a shared machine are
    indicative only.

Usage
    python benchmarks/layers.py                     # TensorFlow, defaults
    python benchmarks/layers.py --backend jax --dtype bfloat16 --json out.json
    python benchmarks/layers.py --tiny              # a seconds-long smoke run

TensorFlow is imported only on the TensorFlow path, so the JAX path runs
where TensorFlow is not installed. If keras-hub cannot be imported, the
TransformerEncoder pair is skipped with a note and the rest still runs.
"""

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# Measure the working tree this file sits in, not an installed copy.
REPO_ROOT = Path(__file__).resolve().parents[1]

DTYPE_POLICIES = {
    "float32": "float32",
    "bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
}
# Largest accepted output difference and relative gradient difference.
TOLERANCES = {"float32": 1e-4, "bfloat16": 1e-1, "float16": 2e-2}
TINY = {
    "batch": 2,
    "seq": 16,
    "hidden": 32,
    "heads": 2,
    "intermediate": 64,
    "repeats": 3,
    "round_seconds": 0.01,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax"),
        default=os.environ.get("KERAS_BACKEND", "tensorflow"),
        help="Keras backend (default: $KERAS_BACKEND or tensorflow).",
    )
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, default=1024)
    parser.add_argument(
        "--repeats", type=int, default=20, help="Timed rounds (default 20)."
    )
    parser.add_argument(
        "--round-seconds",
        type=float,
        default=0.2,
        help="Approximate length of one contender's share of a round.",
    )
    parser.add_argument(
        "--dtype",
        choices=tuple(DTYPE_POLICIES),
        default="float32",
        help="float32, or mixed precision with this compute dtype.",
    )
    parser.add_argument(
        "--layers",
        nargs="+",
        choices=("TransformerEncoder", "MultiHeadAttention"),
        default=("TransformerEncoder", "MultiHeadAttention"),
        help="Which pairs to time (default: both).",
    )
    parser.add_argument("--json", metavar="OUT.json", help="Write results.")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="Batch 2, seq 16, hidden 32, 2 heads, 3 repeats (smoke test).",
    )
    args = parser.parse_args(argv)
    if args.tiny:
        for name, value in TINY.items():
            setattr(args, name, value)
    if args.hidden % args.heads:
        parser.error("--hidden must be divisible by --heads.")
    if args.repeats < 2:
        parser.error("--repeats must be at least 2.")
    return args


# ---------------------------------------------------------------- layers --


@dataclasses.dataclass
class Pair:
    """Our layer and its anchor, with how to call each one."""

    name: str
    anchor_name: str
    ours: object
    anchor: object
    call_ours: object  # (layer, x, padding_mask, training) -> outputs
    call_anchor: object


def call_encoder(layer, x, padding_mask, training):
    return layer(x, padding_mask=padding_mask, training=training)


def call_our_attention(layer, x, padding_mask, training):
    return layer(x, x, padding_mask=padding_mask, training=training)


def call_keras_attention(layer, x, padding_mask, training):
    # keras.layers.MultiHeadAttention takes a (batch, query, key) mask; a
    # (batch, 1, key) one broadcasts, as keras-hub's encoder passes it.
    mask = None if padding_mask is None else padding_mask[:, None, :]
    return layer(x, x, attention_mask=mask, training=training)


def copy_weights(anchor, ours, seed):
    """Gives the anchor random weights and copies them into ours.

    Random biases and layer-norm parameters (rather than the zeros and ones
    of a fresh layer) make a weight-order mistake show up in the outputs.
    """
    ours_shapes = [tuple(w.shape) for w in ours.weights]
    anchor_shapes = [tuple(w.shape) for w in anchor.weights]
    if ours_shapes != anchor_shapes:
        raise RuntimeError(
            f"Weights of {ours.name} and {anchor.name} do not line up:\n"
            f"  ours:   {ours_shapes}\n  anchor: {anchor_shapes}"
        )
    rng = np.random.default_rng(seed)
    values = []
    for w in anchor.weights:
        shape = tuple(w.shape)
        if len(shape) > 1:  # kernels: keep the initializer's scale
            values.append(np.asarray(w, "float32"))
        else:
            values.append(rng.normal(0.0, 0.1, shape).astype("float32"))
    values = [
        v + 1.0 if w.path.endswith("gamma") else v
        for v, w in zip(values, anchor.weights, strict=True)
    ]
    anchor.set_weights(values)
    ours.set_weights(values)


def make_pairs(args, keras, x):
    """Builds the pairs named by `--layers`."""
    pairs = []
    if "TransformerEncoder" in args.layers:
        pairs += encoder_pair(args, x)
    if "MultiHeadAttention" in args.layers:
        pairs.append(attention_pair(args, keras, x))
    return pairs


def encoder_pair(args, x):
    """Ours and keras-hub's encoder (none if keras-hub cannot be imported)."""
    from keras_attn import layers

    try:
        import keras_hub
    except Exception as error:  # keras-hub missing or broken here
        print(
            "NOTE: keras_hub could not be imported "
            f"({type(error).__name__}: {error}); skipping the "
            "TransformerEncoder comparison."
        )
        return []
    encoder_config = dict(
        intermediate_dim=args.intermediate,
        num_heads=args.heads,
        activation="gelu",
        normalize_first=False,
    )
    anchor = keras_hub.layers.TransformerEncoder(**encoder_config)
    ours = layers.TransformerEncoder(**encoder_config)
    anchor(x)  # builds
    ours(x)
    copy_weights(anchor, ours, seed=1)
    return [
        Pair(
            "TransformerEncoder",
            "keras_hub.layers.TransformerEncoder",
            ours,
            anchor,
            call_encoder,
            call_encoder,
        )
    ]


def attention_pair(args, keras, x):
    """Ours and Keras's MultiHeadAttention, as self-attention."""
    from keras_attn import layers

    key_dim = args.hidden // args.heads
    anchor = keras.layers.MultiHeadAttention(args.heads, key_dim)
    ours = layers.MultiHeadAttention(args.heads, key_dim=key_dim)
    anchor(x, x)
    ours(x, x)
    copy_weights(anchor, ours, seed=2)
    return Pair(
        "MultiHeadAttention",
        "keras.layers.MultiHeadAttention",
        ours,
        anchor,
        call_our_attention,
        call_keras_attention,
    )


# -------------------------------------------------------------- backends --


class TensorFlowRunner:
    """Steps as `tf.function`s, as a graph and compiled with XLA."""

    def __init__(self):
        import tensorflow as tf

        self.tf = tf
        self.modes = (("tf.function", False), ("tf.function+XLA", True))

    def to_tensor(self, array):
        return self.tf.constant(array)

    def make_step(self, layer, call, x, mask, backward, jit):
        tf = self.tf

        if backward:

            def step(x, mask):
                with tf.GradientTape() as tape:
                    y = call(layer, x, mask, True)
                    loss = tf.reduce_sum(tf.cast(y, "float32"))
                grads = tape.gradient(loss, layer.trainable_variables)
                return loss, grads

        else:

            def step(x, mask):
                return call(layer, x, mask, False)

        step = tf.function(step, jit_compile=jit)
        return lambda: step(x, mask)

    def sync(self, results):
        # Ops run in order, so the last result being ready means all are.
        for tensor in self.tf.nest.flatten(results[-1]):
            tensor.numpy()

    def environment(self):
        tf = self.tf
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            device = f"GPU: {details.get('device_name', gpus[0].name)}"
        else:
            device = f"CPU: {cpu_name()}"
        return {"device": device, "tensorflow": tf.__version__}


class JaxRunner:
    """Steps as `jax.jit` of `stateless_call` (and its value and grad)."""

    def __init__(self):
        import jax
        import keras

        self.jax, self.keras = jax, keras
        self.harness = define_harness(keras)
        self.modes = (("jax.jit", True),)

    def to_tensor(self, array):
        return self.jax.numpy.asarray(array)

    def make_step(self, layer, call, x, mask, backward, jit):
        jax, ops = self.jax, self.keras.ops
        harness = self.harness(layer, call)
        trainable = [v.value for v in harness.trainable_variables]
        non_trainable = [v.value for v in harness.non_trainable_variables]

        def forward(trainable, non_trainable, x, mask, training=False):
            y, _ = harness.stateless_call(
                trainable, non_trainable, x, mask, training=training
            )
            return y

        if backward:

            def loss(trainable, non_trainable, x, mask):
                y = forward(trainable, non_trainable, x, mask, training=True)
                return ops.sum(ops.cast(y, "float32"))

            step = jax.jit(jax.value_and_grad(loss))
        else:
            step = jax.jit(forward)
        return lambda: step(trainable, non_trainable, x, mask)

    def sync(self, results):
        self.jax.block_until_ready(results)

    def environment(self):
        jax = self.jax
        device = jax.devices()[0]
        kind = getattr(device, "device_kind", "") or ""
        if device.platform == "cpu":
            kind = cpu_name()
        import jaxlib

        return {
            "device": f"{device.platform.upper()}: {kind}",
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
        }


def define_harness(keras):
    class Harness(keras.layers.Layer):
        """Calls a layer through `__call__` inside `stateless_call`.

        `Layer.stateless_call` runs `call` directly, which skips the input
        casting and autocasting that `__call__` does under mixed precision;
        a layer used in a model always goes through `__call__`.
        """

        def __init__(self, layer, call_fn):
            super().__init__(name=f"harness_{layer.name}")
            self.layer = layer
            self.call_fn = call_fn
            self.built = True

        def call(self, x, mask, training=None):
            return self.call_fn(self.layer, x, mask, training)

    return Harness


def cpu_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------- timing --


def run_steps(step, steps, sync):
    """Seconds taken by `steps` back-to-back steps, results included."""
    start = time.perf_counter()
    results = [step() for _ in range(steps)]
    sync(results)
    return time.perf_counter() - start


def time_pair(step_ours, step_anchor, sync, repeats, round_seconds):
    """Alternates ours and the anchor; returns per-step times per round."""
    probe = max(run_steps(step_ours, 3, sync), run_steps(step_anchor, 3, sync))
    steps = max(1, math.ceil(round_seconds / (probe / 3)))
    ours, anchor = [], []
    for _ in range(repeats):
        ours.append(run_steps(step_ours, steps, sync) / steps)
        anchor.append(run_steps(step_anchor, steps, sync) / steps)
    return steps, ours, anchor


def max_difference(ours, anchor, relative):
    """Largest |ours - anchor| over all tensors (relative: / max |anchor|)."""
    ours = [np.asarray(t, "float32") for t in _flatten(ours)]
    anchor = [np.asarray(t, "float32") for t in _flatten(anchor)]
    diff = max(
        float(np.max(np.abs(a - b))) for a, b in zip(ours, anchor, strict=True)
    )
    if relative:
        scale = max(float(np.max(np.abs(b))) for b in anchor)
        diff /= max(scale, 1e-30)
    return diff


def _flatten(structure):
    import keras

    return [
        keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(structure)
    ]


# ------------------------------------------------------------------ main --


def benchmark(args, runner, pairs, x, mask):
    tokens = args.batch * args.seq
    tolerance = TOLERANCES[args.dtype]
    rows = []
    for pair in pairs:
        for mask_name, padding_mask in (("none", None), ("padding", mask)):
            for backward in (False, True):
                for mode, jit in runner.modes:
                    row = {
                        "layer": pair.name,
                        "anchor": pair.anchor_name,
                        "mask": mask_name,
                        "pass": "fwd+bwd" if backward else "fwd",
                        "compile": mode,
                    }
                    label = " / ".join(
                        (pair.name, mask_name, row["pass"], mode)
                    )
                    print(f"  {label} ...", flush=True)
                    try:
                        step_ours = runner.make_step(
                            pair.ours,
                            pair.call_ours,
                            x,
                            padding_mask,
                            backward,
                            jit,
                        )
                        step_anchor = runner.make_step(
                            pair.anchor,
                            pair.call_anchor,
                            x,
                            padding_mask,
                            backward,
                            jit,
                        )
                        # Warm-up (traces and compiles), then the check.
                        out_ours, out_anchor = step_ours(), step_anchor()
                    except Exception as error:
                        if mode.endswith("XLA"):
                            note = f"{type(error).__name__}: {error}"
                            print(f"    skipped, XLA failed: {note[:300]}")
                            rows.append({**row, "error": note})
                            continue
                        raise
                    # Forward: the outputs; backward: the gradients.
                    if backward:
                        out_ours, out_anchor = out_ours[1], out_anchor[1]
                    diff = max_difference(
                        out_ours, out_anchor, relative=backward
                    )
                    if not diff <= tolerance:
                        raise SystemExit(
                            f"{label}: ours and the anchor disagree "
                            f"(max difference {diff:.3g} > {tolerance:g}); "
                            "the timings would not compare like with like."
                        )
                    steps, ours, anchor = time_pair(
                        step_ours,
                        step_anchor,
                        runner.sync,
                        args.repeats,
                        args.round_seconds,
                    )
                    ratios = [a / o for o, a in zip(ours, anchor, strict=True)]
                    q1, _, q3 = statistics.quantiles(ratios, n=4)
                    ours_s = statistics.median(ours)
                    anchor_s = statistics.median(anchor)
                    rows.append(
                        {
                            **row,
                            "max_difference": diff,
                            "steps_per_round": steps,
                            "ours_ms": 1e3 * ours_s,
                            "anchor_ms": 1e3 * anchor_s,
                            "ours_tokens_per_s": tokens / ours_s,
                            "anchor_tokens_per_s": tokens / anchor_s,
                            "ratio": anchor_s / ours_s,
                            "ratio_q1": q1,
                            "ratio_q3": q3,
                            "ratio_iqr": q3 - q1,
                            "ours_round_s": ours,
                            "anchor_round_s": anchor,
                        }
                    )
    return rows


def print_table(rows):
    header = (
        f"{'layer':<19}{'mask':<8}{'pass':<8}{'compile':<16}"
        f"{'ours ms':>9}{'anchor ms':>10}{'ours tok/s':>12}"
        f"{'anchor tok/s':>13}{'ratio':>7}  {'IQR':<11}{'diff':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        start = (
            f"{r['layer']:<19}{r['mask']:<8}{r['pass']:<8}{r['compile']:<16}"
        )
        if "error" in r:
            print(f"{start}failed: {r['error'][:60]}")
            continue
        iqr = f"{r['ratio_q1']:.2f}-{r['ratio_q3']:.2f}"
        print(
            f"{start}{r['ours_ms']:>9.3f}{r['anchor_ms']:>10.3f}"
            f"{r['ours_tokens_per_s']:>12,.0f}"
            f"{r['anchor_tokens_per_s']:>13,.0f}"
            f"{r['ratio']:>7.2f}  {iqr:<11}{r['max_difference']:>8.1e}"
        )
    print(
        "ratio = anchor time / our time (>1: ours faster); IQR = quartiles "
        "of the\nper-round ratios; diff = max |output difference| (fwd) or "
        "max |gradient\ndifference| / max |gradient| (fwd+bwd)."
    )


def main(argv=None):
    args = parse_args(argv)
    # Keras reads the backend once, at import.
    os.environ["KERAS_BACKEND"] = args.backend
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    import keras

    if keras.backend.backend() != args.backend:
        raise SystemExit(
            f"Keras was already imported with the {keras.backend.backend()} "
            f"backend; cannot switch to {args.backend}."
        )
    keras.config.set_dtype_policy(DTYPE_POLICIES[args.dtype])
    keras.utils.set_random_seed(0)
    runner = TensorFlowRunner() if args.backend == "tensorflow" else JaxRunner()

    rng = np.random.default_rng(0)
    shape = (args.batch, args.seq, args.hidden)
    x_np = rng.normal(size=shape).astype("float32")
    # About 25% padding at the end of every other row.
    mask_np = np.ones((args.batch, args.seq), bool)
    mask_np[::2, args.seq - args.seq // 4 :] = False
    x, mask = runner.to_tensor(x_np), runner.to_tensor(mask_np)

    pairs = make_pairs(args, keras, x)

    environment = {
        "backend": args.backend,
        "keras": keras.__version__,
        "dtype_policy": DTYPE_POLICIES[args.dtype],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        **runner.environment(),
    }
    try:
        import keras_hub

        environment["keras_hub"] = keras_hub.__version__
    except Exception:
        environment["keras_hub"] = None
    config = {
        "batch": args.batch,
        "seq": args.seq,
        "hidden": args.hidden,
        "heads": args.heads,
        "key_dim": args.hidden // args.heads,
        "intermediate": args.intermediate,
        "activation": "gelu",
        "normalize_first": False,
        "padded_fraction": float(1.0 - mask_np.mean()),
        "repeats": args.repeats,
        "round_seconds": args.round_seconds,
    }
    print("environment:", json.dumps(environment))
    print("config:", json.dumps(config))

    rows = benchmark(args, runner, pairs, x, mask)
    print()
    print_table(rows)
    if args.json:
        report = {"environment": environment, "config": config, "rows": rows}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
