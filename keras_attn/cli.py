"""The `keras-attn` command line.

Installed as the `keras-attn` script; `main` runs it from Python with a
list of arguments and returns the exit status. Commands:

- `keras-attn demo`: the quick start (digits ViT to LiteRT, no download);
- `keras-attn train {vit,text,translate}`: the training jobs;
- `keras-attn export MODEL.keras --to {saved_model,tflite} --output PATH`;
- `keras-attn inspect MODEL.tflite`: inputs, outputs, ops, size;
- `keras-attn version`.
"""

import argparse
import sys

__all__ = ["build_parser", "main"]


def _demo(args):
    from keras_attn import demo

    demo.run(
        output=args.output,
        epochs=args.epochs,
        seed=args.seed,
        num_threads=args.threads,
    )
    if args.text_data:
        demo.run_text(
            args.text_data,
            output=args.output,
            rows=args.text_rows,
            seed=args.seed,
            num_threads=args.threads,
        )
    return 0


def _version(args):
    import keras

    import keras_attn

    print(
        f"keras-attn {keras_attn.__version__} "
        f"(keras {keras.__version__}, backend {keras.backend.backend()})"
    )
    return 0


def _load_for_export(path):
    """A `.keras` model, or a Translator from its saved folder."""
    import pathlib

    path = pathlib.Path(path)
    if path.is_dir():
        if not (path / "translator.json").is_file():
            raise SystemExit(
                f"keras-attn export: {path} is a folder without "
                "translator.json; expected a .keras file or a folder written "
                "by Translator.save."
            )
        from keras_attn.models import Translator

        try:
            return Translator.load(path)
        except ValueError as error:
            raise SystemExit(f"keras-attn export: {error}") from None
    if path.suffix != ".keras" or not path.is_file():
        raise SystemExit(
            f"keras-attn export: expected an existing .keras file or a "
            f"Translator folder; received {str(path)!r}."
        )
    from keras_attn import load_model

    try:
        return load_model(path)  # safe_mode stays on
    except ValueError as error:  # CorruptModelError, or safe mode's refusal
        raise SystemExit(f"keras-attn export: {error}") from None


def _calibration(path):
    import numpy as np

    if path is None:
        return None
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def _export(args):
    from keras_attn import export
    from keras_attn.models import Translator

    model = _load_for_export(args.model)
    if args.to == "saved_model":
        if isinstance(model, Translator):
            raise SystemExit(
                "keras-attn export: a Translator exports to tflite (the "
                "on-device translator); save its model.keras for SavedModel."
            )
        if args.quantize:
            raise SystemExit("keras-attn export: --quantize applies to tflite.")
        preprocessor = None
        if args.preprocessor:
            from keras_attn.models import load_bert_preprocessor

            preprocessor = load_bert_preprocessor(
                args.preprocessor, sequence_length=args.sequence_length or 128
            )
        report = export.to_saved_model(
            model,
            args.output,
            preprocessor=preprocessor,
            sequence_length=args.sequence_length,
        )
    else:
        options = {}
        if not isinstance(model, Translator):
            options = dict(
                quantization=args.quantize,
                representative_data=_calibration(args.calibration),
                batch_size=args.batch_size,
                allow_flex=args.allow_flex,
            )
        try:
            report = export.to_tflite(
                model,
                args.output,
                sequence_length=args.sequence_length,
                num_threads=args.threads,
                **options,
            )
        except export.UnsupportedOpsError as error:
            print(f"keras-attn export: {error}", file=sys.stderr)
            return 2
    print(report)
    if args.report:
        report.save(args.report)
        print(f"report written to {args.report}")
    return 0


def _inspect(args):
    from keras_attn.export import inspect_tflite
    from keras_attn.export.report import format_inspection

    try:
        info = inspect_tflite(args.file)
    except (OSError, ValueError) as error:
        print(f"keras-attn inspect: {error}", file=sys.stderr)
        return 2
    print(format_inspection(info))
    return 0


def _train(args):
    from keras_attn import tasks

    options = dict(
        strategy=args.strategy,
        precision=args.precision,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        validation_freq=args.validation_freq,
        seed=args.seed,
        verbose=args.verbose,
    )
    if args.learning_rate is None:
        del options["learning_rate"]  # each job's own default
    try:
        if args.job == "text-classifier":
            tasks.train_text_classifier(
                args.train,
                args.output,
                eval=args.eval,
                pretrained=args.pretrained,
                preset=args.preset or "bert_tiny",
                vocabulary_size=args.vocabulary_size,
                sequence_length=args.sequence_length,
                pooling=args.pooling,
                **options,
            )
        elif args.job == "translator":
            tasks.train_translator(
                args.train,
                args.output,
                eval=args.eval,
                preset=args.preset or "translator_tiny",
                vocabulary_size=args.vocabulary_size,
                max_length=args.max_length,
                max_pairs=args.max_pairs,
                beam_size=args.beam_size,
                **options,
            )
        else:
            tasks.train_vit(
                args.dataset,
                args.output,
                preset=args.preset,
                image_size=args.image_size,
                data_dir=args.data_dir,
                download=args.download,
                **options,
            )
    except (OSError, ValueError) as error:
        print(f"keras-attn train {args.job}: {error}", file=sys.stderr)
        return 2
    return 0


def _add_train(commands):
    from keras_attn.distribute import PRECISIONS
    from keras_attn.distribute import STRATEGIES

    train = commands.add_parser(
        "train",
        help="train a text classifier, a translator or a ViT with model.fit",
        description=(
            "Trains with model.fit under a tf.distribute strategy and "
            "writes model.keras, history.json, metrics.json, "
            "eval_predictions.tsv, training_curves.png and TensorBoard "
            "logs to --output. Run the same command again after a crash "
            "to resume from the last completed epoch."
        ),
    )
    jobs = train.add_subparsers(dest="job", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--output", required=True, help="folder to write")
    common.add_argument("--strategy", choices=STRATEGIES, default="auto")
    common.add_argument("--precision", choices=PRECISIONS, default="float32")
    common.add_argument("--epochs", type=_positive, default=3)
    common.add_argument(
        "--batch-size",
        type=_positive,
        default=32,
        help="global batch, split across replicas (default 32)",
    )
    common.add_argument("--learning-rate", type=float, default=None)
    common.add_argument(
        "--validation-freq",
        type=_positive,
        default=1,
        help="evaluate the held-out data every N epochs (default 1)",
    )
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--preset", default=None)
    common.add_argument(
        "--verbose", type=int, choices=[0, 1, 2], default=1, help="fit's"
    )

    text = jobs.add_parser(
        "text-classifier",
        parents=[common],
        help="a BERT classifier on a label<TAB>sentence TSV or CSV",
    )
    text.add_argument("--train", required=True, help="TSV or CSV with header")
    text.add_argument("--eval", help="held-out TSV or CSV (default: 10%%)")
    text.add_argument(
        "--pretrained",
        help="a local Hugging Face BERT folder to fine-tune; without it "
        "a --preset BERT (default bert_tiny) is trained from scratch",
    )
    text.add_argument("--vocabulary-size", type=_positive, default=8000)
    text.add_argument("--sequence-length", type=_positive, default=128)
    text.add_argument("--pooling", choices=["pooled", "mean"], default="pooled")

    translator = jobs.add_parser(
        "translator",
        parents=[common],
        help="the Transformer translator on a source<TAB>target TSV",
    )
    translator.add_argument("--train", required=True, help="TSV of pairs")
    translator.add_argument("--eval", help="held-out TSV (default: 10%%)")
    translator.add_argument("--vocabulary-size", type=_positive, default=2000)
    translator.add_argument("--max-length", type=_positive, default=32)
    translator.add_argument("--max-pairs", type=_positive, default=None)
    translator.add_argument("--beam-size", type=_positive, default=1)

    vit = jobs.add_parser(
        "vit",
        parents=[common],
        help="a Vision Transformer on digits, CIFAR-10 or an image folder",
    )
    vit.add_argument(
        "--dataset",
        required=True,
        help="digits (bundled with scikit-learn), cifar10 (TensorFlow "
        "Datasets) or a folder with one subfolder of images per class",
    )
    vit.add_argument("--image-size", type=_positive, default=None)
    vit.add_argument("--data-dir", help="TensorFlow Datasets data folder")
    vit.add_argument(
        "--download",
        action="store_true",
        help="let TensorFlow Datasets download CIFAR-10 (163 MB)",
    )
    train.set_defaults(func=_train)


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text}")
    return value


def _add_export(commands):
    parser = commands.add_parser(
        "export",
        help="export a .keras model or a Translator to TFLite or SavedModel",
        description=(
            "Exports MODEL with keras_attn.export, checks the artifact against "
            "the Keras model on sample inputs and prints the report: "
            "operators, size, largest difference, latency."
        ),
    )
    parser.add_argument("model", help="a .keras file or a Translator folder")
    parser.add_argument(
        "--to", choices=["tflite", "saved_model"], required=True
    )
    parser.add_argument(
        "--output", required=True, help="file or folder to write"
    )
    parser.add_argument(
        "--quantize", choices=["float16", "dynamic_int8", "int8"], default=None
    )
    parser.add_argument(
        "--calibration",
        help="for int8: an .npz with one array per model input, examples "
        "along the first axis",
    )
    parser.add_argument("--sequence-length", type=_positive, default=None)
    parser.add_argument(
        "--batch-size",
        type=_positive,
        default=1,
        help="fixed batch of the .tflite file (default 1)",
    )
    parser.add_argument(
        "--preprocessor",
        help="saved_model only: a Hugging Face BERT folder (vocab.txt) "
        "whose tokenizer goes into the signature, which then takes strings",
    )
    parser.add_argument("--allow-flex", action="store_true")
    parser.add_argument("--threads", type=_positive, default=2)
    parser.add_argument("--report", help="also write the report here as JSON")
    parser.set_defaults(func=_export)
    inspect = commands.add_parser(
        "inspect", help="list a .tflite file's inputs, outputs and operators"
    )
    inspect.add_argument("file")
    inspect.set_defaults(func=_inspect)


def build_parser():
    """The `argparse` parser of every `keras-attn` command.

    Example:

    >>> from keras_attn.cli import build_parser
    >>> args = build_parser().parse_args(
    ...     ["export", "model.keras", "--to", "tflite", "--quantize",
    ...      "dynamic_int8", "--output", "model.tflite"]
    ... )
    >>> args.to, args.quantize, args.output
    ('tflite', 'dynamic_int8', 'model.tflite')
    """
    parser = argparse.ArgumentParser(
        prog="keras-attn",
        description="Keras 3 attention layers and models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train a ViT on the bundled digits, export it to LiteRT, check it",
        description=(
            "Trains vit_digits with model.fit on scikit-learn's bundled 8x8 "
            "digits, exports it to LiteRT as float32 and full int8, runs "
            "both with the LiteRT interpreter on the held-out images and "
            "prints accuracy, difference from Keras, size and latency. "
            "Needs no download."
        ),
    )
    demo.add_argument(
        "--output",
        default="keras-attn-demo",
        help="folder for the model, .tflite files, results and pictures "
        "(default: %(default)s)",
    )
    demo.add_argument("--epochs", type=_positive, default=40)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--threads",
        type=_positive,
        default=2,
        help="LiteRT interpreter threads",
    )
    demo.add_argument(
        "--text-data",
        help="a label<TAB>sentence TSV (for example SST-2's): with the "
        "all-MiniLM-L6-v2 package installed, also fine-tune it on a slice "
        "and check its LiteRT files",
    )
    demo.add_argument(
        "--text-rows",
        type=_positive,
        default=2000,
        help="rows of --text-data used, a fifth held out (default 2000)",
    )
    demo.set_defaults(func=_demo)
    _add_export(commands)
    _add_train(commands)
    version = commands.add_parser("version", help="print versions")
    version.set_defaults(func=_version)
    return parser


def main(argv=None):
    """Runs `keras-attn` with `argv` (default: `sys.argv[1:]`); returns
    the exit status. Bad arguments exit through `SystemExit` with
    argparse's message, as the script does.

    Example: export a small model to LiteRT, then inspect the file.

    >>> import contextlib, io, os, tempfile
    >>> import keras
    >>> from keras_attn.cli import main
    >>> folder = tempfile.mkdtemp()
    >>> inputs = keras.Input((4,), name="x")
    >>> model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    >>> model.save(os.path.join(folder, "dense.keras"))
    >>> out = os.path.join(folder, "dense.tflite")
    >>> printed = io.StringIO()
    >>> with contextlib.redirect_stdout(printed):
    ...     status = main(["export", os.path.join(folder, "dense.keras"),
    ...                    "--to", "tflite", "--output", out])
    >>> status, os.path.isfile(out)
    (0, True)
    >>> "max |diff| 0" in printed.getvalue()
    True
    >>> printed = io.StringIO()
    >>> with contextlib.redirect_stdout(printed):
    ...     status = main(["inspect", out])
    >>> status, "FULLY_CONNECTED" in printed.getvalue()
    (0, True)
    """
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
