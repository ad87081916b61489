"""LiteRT latency, size and operators: `to_tflite` against Keras's export.

For each model, one keras-hub backbone is built with random weights and
converted to keras_attn with `from_keras_hub`, so both files hold the same
weights. The anchor is what a Keras user gets today: Keras 3's own
`model.export(path, format="litert")` on the keras-hub backbone (dynamic
batch and length, Flex allowed), with `optimizations` and a
`representative_dataset` passed through for the quantized rows. Ours is
`keras_attn.export.to_tflite` at batch 1 and a fixed sequence length.

Both files run in this process with the `ai-edge-litert` interpreter on
the same inputs; timings alternate between the two files in rounds so
that a busy machine slows both alike. Reported: median milliseconds per
call, our time as a ratio of the anchor's float32 and of the anchor at the
same quantization, file sizes, operator counts, and the largest output
difference against the keras-hub model.

    python benchmarks/tflite.py                      # MiniLM shape + ViT-Ti/16
    python benchmarks/tflite.py --models bert --rounds 3
    python benchmarks/tflite.py --tiny               # seconds, for a smoke test
"""

import argparse
import json
import os
import pathlib
import tempfile

import numpy as np

MODELS = {
    # all-MiniLM-L6-v2's shape (Wang et al., 2020), sequence 128.
    "bert": dict(
        vocabulary_size=30522,
        num_layers=6,
        num_heads=12,
        hidden_dim=384,
        intermediate_dim=1536,
        max_sequence_length=512,
    ),
    # ViT-Ti/16 (Touvron et al., 2021) at 224x224.
    "vit": dict(
        image_shape=(224, 224, 3),
        patch_size=16,
        num_layers=12,
        num_heads=3,
        hidden_dim=192,
        mlp_dim=768,
    ),
}
# The bars for the largest output difference from the Keras model;
# int8 files are judged by task accuracy (benchmarks/quantized_accuracy.py).
PARITY_BARS = {"float32": 1e-4, "float16": 1e-2}
TINY = {
    "bert": dict(
        vocabulary_size=200,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=32,
    ),
    "vit": dict(
        image_shape=(16, 16, 3),
        patch_size=8,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
    ),
}


def build_pair(kind, config, seed=0):
    """(keras-hub backbone, keras_attn copy) with the same random weights."""
    import keras
    import keras_hub

    from keras_attn.models import from_keras_hub

    keras.utils.set_random_seed(seed)
    if kind == "bert":
        anchor = keras_hub.models.BertBackbone(**config)
    else:
        anchor = keras_hub.models.ViTBackbone(**config)
    return anchor, from_keras_hub(anchor)


def make_inputs(kind, config, sequence_length, count, seed=0):
    """`count` batch-1 inputs: random ids with padding, or random images."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        if kind == "bert":
            length = int(
                rng.integers(sequence_length // 2, sequence_length + 1)
            )
            ids = np.zeros((1, sequence_length), "int32")
            ids[0, :length] = rng.integers(1, config["vocabulary_size"], length)
            batches.append(
                {
                    "token_ids": ids,
                    "segment_ids": np.zeros_like(ids),
                    "padding_mask": (ids != 0).astype("int32"),
                }
            )
        else:
            shape = (1, *config["image_shape"])
            batches.append({"images": rng.random(shape).astype("float32")})
    return batches


def export_anchor(anchor, path, quantization, calibration):
    """Keras's own LiteRT export, as a user would call it."""
    import tensorflow as tf

    options = {}
    if quantization is not None:
        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    if quantization == "int8":

        def representative():
            yield from calibration

        options["representative_dataset"] = representative
        options["target_spec"] = {
            "supported_ops": [
                tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                tf.lite.OpsSet.SELECT_TF_OPS,
            ]
        }
    anchor.export(str(path), format="litert", verbose=False, **options)


def _outputs(result):
    if isinstance(result, dict):
        return {name: np.asarray(value) for name, value in result.items()}
    return {"output": np.asarray(result)}


def _matched(expected, got):
    """`got` keyed like `expected` (a lone output may be named anything)."""
    if len(expected) == 1 and len(got) == 1:
        return {next(iter(expected)): next(iter(got.values()))}
    return got


def measure(kind, args, config, workdir):
    from keras_attn.export import LiteRTRunner
    from keras_attn.export import count_ops
    from keras_attn.export import to_tflite
    from keras_attn.export.litert import compare

    anchor, ours = build_pair(kind, config)
    length = args.sequence_length
    inputs = make_inputs(kind, config, length, count=3, seed=1)
    calibration = make_inputs(kind, config, length, args.calibration, seed=2)
    rows = []
    exported = set()
    for quantization in args.quantizations:
        label = quantization or "float32"
        float_ops = None
        if quantization == "int8_float_bmm":
            # Ours keeps the attention products in float32 (XNNPACK has no
            # int8 BATCH_MATMUL); the anchor has no such option: full int8.
            quantization, float_ops = "int8", ["BATCH_MATMUL"]
        anchor_label = quantization or "float32"
        anchor_path = workdir / f"{kind}_keras_{anchor_label}.tflite"
        ours_path = workdir / f"{kind}_keras_attn_{label}.tflite"
        if anchor_label not in exported:
            print(f"[{kind} {label}] exporting with Keras ...", flush=True)
            export_anchor(anchor, anchor_path, quantization, calibration)
            exported.add(anchor_label)
        print(f"[{kind} {label}] exporting with keras_attn ...", flush=True)
        to_tflite(
            ours,
            ours_path,
            quantization=quantization,
            representative_data=calibration,
            sequence_length=length if kind == "bert" else None,
            calibration_steps=args.calibration,
            float_ops=float_ops,
            measure_latency=False,
        )
        runners = {
            "keras": LiteRTRunner(anchor_path, num_threads=args.threads),
            "keras_attn": LiteRTRunner(ours_path, num_threads=args.threads),
        }
        reference = [_outputs(anchor(batch)) for batch in inputs]
        row = {"model": kind, "quantization": label}
        for name, runner in runners.items():
            worst = 0.0
            for batch, expected in zip(inputs, reference, strict=True):
                absolute, _ = compare(
                    expected, _matched(expected, runner(batch))
                )
                worst = max(worst, *absolute.values())
            path = anchor_path if name == "keras" else ours_path
            blob = path.read_bytes()
            ops = count_ops(blob)
            row[name] = {
                "size_mb": len(blob) / 1e6,
                "op_count": sum(ops.values()),
                "ops": ops,
                "max_abs_diff_vs_keras_hub": worst,
                "times_ms": [],
            }
        for _ in range(args.rounds):
            for name, runner in runners.items():
                row[name]["times_ms"].append(
                    runner.latency_ms(inputs[0], runs=args.runs, warmup=2)
                )
        for name in runners:
            row[name]["latency_ms"] = float(np.median(row[name]["times_ms"]))
        rows.append(row)
        print(
            f"[{kind} {label}] keras {row['keras']['latency_ms']:.2f} ms, "
            f"keras_attn {row['keras_attn']['latency_ms']:.2f} ms",
            flush=True,
        )
    base = {
        row["model"]: row for row in rows if row["quantization"] == "float32"
    }
    for row in rows:
        ours_ms = row["keras_attn"]["latency_ms"]
        row["latency_vs_anchor_same"] = ours_ms / row["keras"]["latency_ms"]
        if row["model"] in base:
            anchor_float = base[row["model"]]["keras"]
            ours_float = base[row["model"]]["keras_attn"]
            row["latency_vs_anchor_float32"] = (
                ours_ms / anchor_float["latency_ms"]
            )
            row["size_vs_our_float32"] = (
                row["keras_attn"]["size_mb"] / ours_float["size_mb"]
            )
    return rows


def matmul_floor(kind, config, args, workdir):
    """Median ms of the model's dense layers alone, same shapes, no rest.

    A stack of the backbone's FULLY_CONNECTED layers (per block: query,
    key, value, output, and the two feed-forward layers) on `tokens` rows:
    what no graph rewriting can remove. Returned for float32 and int8.
    """
    import keras

    from keras_attn.export import LiteRTRunner
    from keras_attn.export import to_tflite

    if kind == "bert":
        width, inner = config["hidden_dim"], config["intermediate_dim"]
        tokens = args.sequence_length
    else:
        width, inner = config["hidden_dim"], config["mlp_dim"]
        size = config["image_shape"][0] // config["patch_size"]
        tokens = size * size + 1
    inputs = keras.Input((tokens, width), name="x")
    hidden = inputs
    for _ in range(config["num_layers"]):
        for units in (width, width, width, width, inner, width):
            hidden = keras.layers.Dense(units)(hidden)
    stack = keras.Model(inputs, hidden)
    sample = {
        "x": np.random.default_rng(0).random((1, tokens, width), "float32")
    }
    floor = {}
    for quantization in (None, "int8"):
        path = workdir / f"{kind}_dense_only_{quantization or 'float32'}.tflite"
        to_tflite(
            stack,
            path,
            quantization=quantization,
            representative_data=[sample],
            measure_latency=False,
            num_samples=1,
        )
        runner = LiteRTRunner(path, num_threads=args.threads)
        times = [
            runner.latency_ms(sample, runs=args.runs, warmup=2)
            for _ in range(args.rounds)
        ]
        floor[quantization or "float32"] = float(np.median(times))
    return floor


def table(rows):
    lines = [
        "| model | quantization | Keras ms | ours ms | ours / Keras same | "
        "ours / Keras fp32 | Keras MB | ours MB | ours / our fp32 size | "
        "Keras ops | ours ops | max diff Keras | max diff ours |",
        "|" + " --- |" * 13,
    ]
    for row in rows:
        keras_row, ours = row["keras"], row["keras_attn"]
        lines.append(
            f"| {row['model']} | {row['quantization']} | "
            f"{keras_row['latency_ms']:.2f} | {ours['latency_ms']:.2f} | "
            f"{row['latency_vs_anchor_same']:.2f} | "
            f"{row.get('latency_vs_anchor_float32', float('nan')):.2f} | "
            f"{keras_row['size_mb']:.1f} | {ours['size_mb']:.1f} | "
            f"{row.get('size_vs_our_float32', float('nan')):.2f} | "
            f"{keras_row['op_count']} | {ours['op_count']} | "
            f"{keras_row['max_abs_diff_vs_keras_hub']:.2g} | "
            f"{ours['max_abs_diff_vs_keras_hub']:.2g} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="bert,vit")
    parser.add_argument(
        "--quantizations",
        default="float32,dynamic_int8,int8,int8_float_bmm",
        help="comma-separated: float32, float16, dynamic_int8, int8, "
        "int8_float_bmm (ours: int8 with BATCH_MATMUL left in float32)",
    )
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calibration", type=int, default=32)
    parser.add_argument("--tiny", action="store_true", help="tiny configs")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also time the models' dense layers alone (the matmul floor)",
    )
    parser.add_argument("--output", help="write the rows as JSON here")
    parser.add_argument("--workdir", help="keep the .tflite files here")
    args = parser.parse_args(argv)
    args.models = [name.strip() for name in args.models.split(",")]
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; expected {sorted(MODELS)}")
    args.quantizations = [
        None if name.strip() == "float32" else name.strip()
        for name in args.quantizations.split(",")
    ]
    if args.tiny:
        args.sequence_length = min(args.sequence_length, 16)
    return args


def main(argv=None):
    args = parse_args(argv)
    configs = TINY if args.tiny else MODELS
    with tempfile.TemporaryDirectory() as scratch:
        workdir = pathlib.Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        rows = []
        floors = {}
        for kind in args.models:
            rows.extend(measure(kind, args, configs[kind], workdir))
            if args.profile:
                floors[kind] = matmul_floor(kind, configs[kind], args, workdir)
    print()
    print(f"{args.threads} threads, batch 1, sequence {args.sequence_length}")
    print(table(rows))
    for row in rows:
        bar = PARITY_BARS.get(row["quantization"])
        if bar is not None:
            diff = row["keras_attn"]["max_abs_diff_vs_keras_hub"]
            verdict = "within" if diff <= bar else "OVER"
            print(
                f"parity: {row['model']} {row['quantization']} max |diff| "
                f"{diff:.2g} from keras-hub, {verdict} the {bar:g} bar"
            )
    anchors = {
        row["model"]: row["keras"]["latency_ms"]
        for row in rows
        if row["quantization"] == "float32"
    }
    for kind, floor in floors.items():
        ratios = ", ".join(
            f"{name} {ms:.2f} ms"
            + (
                f" ({ms / anchors[kind]:.2f}x Keras float32)"
                if kind in anchors
                else ""
            )
            for name, ms in floor.items()
        )
        print(f"{kind}: its dense layers alone take {ratios}")
    if args.output:
        result = {
            "rows": rows,
            "dense_layers_only_ms": floors,
            "settings": {
                "threads": args.threads,
                "sequence_length": args.sequence_length,
                "rounds": args.rounds,
                "runs": args.runs,
                "tiny": args.tiny,
            },
        }
        pathlib.Path(args.output).write_text(
            json.dumps(result, indent=2) + "\n"
        )
    return rows


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
