"""The `keras-attn` argument parser (no TensorFlow or Keras imported).

`build_parser` only names the commands and their options; each command's
function in `keras_attn.cli.commands` imports what it needs when it runs,
so `keras-attn --help` and argument errors answer at once.
"""

import argparse

from keras_attn._choices import PRECISIONS
from keras_attn._choices import STRATEGIES
from keras_attn.cli import commands as actions


def _add_train(commands):
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
    train.set_defaults(func=actions.train)


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
    parser.set_defaults(func=actions.export)
    inspect = commands.add_parser(
        "inspect", help="list a .tflite file's inputs, outputs and operators"
    )
    inspect.add_argument("file")
    inspect.set_defaults(func=actions.inspect)


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
    demo.set_defaults(func=actions.demo)
    _add_export(commands)
    _add_train(commands)
    version = commands.add_parser("version", help="print versions")
    version.set_defaults(func=actions.version)
    return parser
