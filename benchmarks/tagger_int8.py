"""The Brown tagger's `.tflite` files against Keras, on the held-out files.

Takes the run folder `tagger_brown.py --save` wrote, exports it with
`to_tflite` as float32 and as full int8 (calibrated on sentences of the
training files, as a user would: none of the held-out files), tags every
sentence of the 50 held-out Brown files with each file alone
(`export.tagger.tag_file`: LiteRT's CPU interpreter, the vocabulary and
tags read from the file) and compares per-word accuracy with Keras's
`TokenClassifier.tag` on the same sentences. Goal: int8 within one point
of Keras.

    python benchmarks/tagger_int8.py --run brown-tagger --brown package \\
        --output benchmarks/results/tagger_int8.json

`--tiny` scores 200 held-out sentences with 16 calibration sentences.
"""

import argparse
import datetime
import json
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from tagger_brown import read  # noqa: E402
from tagger_brown import split_files  # noqa: E402


def accuracy(gold, predicted):
    flat_gold = np.asarray([t for row in gold for t in row])
    flat = np.asarray([t for row in predicted for t in row])
    return float(np.mean(flat_gold == flat))


def changed(a, b):
    return int(
        sum(
            x != y
            for ra, rb in zip(a, b, strict=True)
            for x, y in zip(ra, rb, strict=True)
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="tagger run folder")
    parser.add_argument("--brown", required=True, help="corpus folder")
    parser.add_argument("--calibration", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None)
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args(argv)

    from keras_attn.data import tagged_files
    from keras_attn.export import to_tflite
    from keras_attn.export.tagger import tag_file
    from keras_attn.models import load_task

    tagger = load_task(args.run)
    train_files, held_files = split_files(
        tagged_files(args.brown, format="brown")
    )
    train_words, _ = read(train_files)
    held_words, held_tags = read(held_files)
    count = 16 if args.tiny else args.calibration
    order = np.random.default_rng(args.seed).permutation(len(train_words))
    calibration = [train_words[i] for i in order[:count]]
    if args.tiny:
        held_words, held_tags = held_words[:200], held_tags[:200]

    started = time.perf_counter()
    keras_tags = tagger.tag(held_words)
    rows = {
        "keras": {
            "accuracy": round(accuracy(held_tags, keras_tags), 5),
            "seconds": round(time.perf_counter() - started, 1),
        }
    }
    print(f"keras: {rows['keras']}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for quantization in (None, "int8"):
            name = quantization or "float32"
            path = pathlib.Path(folder) / f"tagger_{name}.tflite"
            to_tflite(
                tagger,
                path,
                quantization=quantization,
                representative_data=calibration if quantization else None,
                measure_latency=False,
            )
            started = time.perf_counter()
            tags, logits = tag_file(path, held_words, return_logits=True)
            seconds = time.perf_counter() - started
            score = accuracy(held_tags, tags)
            rows[name] = {
                "accuracy": round(score, 5),
                "points_vs_keras": round(
                    100 * (score - rows["keras"]["accuracy"]), 2
                ),
                "words_changed_vs_keras": changed(tags, keras_tags),
                "megabytes": round(path.stat().st_size / 1e6, 2),
                "seconds": round(seconds, 1),
            }
            print(f"{name}: {rows[name]}", flush=True)
    record = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python", *sys.argv]),
        "run": pathlib.Path(args.run).name,
        "sequence_length": tagger.sequence_length,
        "calibration_sentences": count,
        "held_out": {
            "files": len(held_files),
            "sentences": len(held_words),
            "words": sum(map(len, held_words)),
        },
        "files": rows,
    }
    if args.output:
        pathlib.Path(args.output).write_text(json.dumps(record, indent=1))
        print(f"wrote {args.output}")
    return record


if __name__ == "__main__":
    main()
