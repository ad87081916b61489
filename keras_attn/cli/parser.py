"""The `keras-attn` argument parser (no TensorFlow or Keras imported).

`build_parser` only names the commands and their options; each command's
function in `keras_attn.cli.commands` imports what it needs when it runs,
so `keras-attn --help` and argument errors answer at once. Every error is
one line on stderr that names the argument, with exit status 2 (`Parser`);
`keras_attn.cli.checks` then checks files and flags that go together.
The `train` command's options are in `train_parser`, the value types and
options several commands share in `options`.
"""

import argparse

from keras_attn._choices import ACCELERATORS
from keras_attn._choices import GRAYSCALE
from keras_attn._choices import MEDIAPIPE_TASKS
from keras_attn._choices import PROGRESS
from keras_attn._choices import QUALCOMM_SOCS
from keras_attn._choices import QUANTIZATIONS
from keras_attn.cli import commands as actions
from keras_attn.cli.options import PROGRESS_HELP
from keras_attn.cli.options import VERBOSE_HELP
from keras_attn.cli.options import accelerator_list
from keras_attn.cli.options import add_text_columns
from keras_attn.cli.options import length_or_dynamic
from keras_attn.cli.options import logs_parent
from keras_attn.cli.options import non_negative_int
from keras_attn.cli.options import normalization
from keras_attn.cli.options import positive_int
from keras_attn.cli.options import soc_list
from keras_attn.cli.train_parser import add_train


class Parser(argparse.ArgumentParser):
    """argparse, with every error on one line (no usage block)."""

    def error(self, message):
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


class _IntermixedParser(Parser):
    """A command whose options may come between its positional arguments
    (`predict MODEL --json TEXT ...`): argparse's intermixed parsing,
    which calls `parse_known_args` again inside itself."""

    _parsing = False

    def parse_known_args(self, args=None, namespace=None):
        if self._parsing:
            return super().parse_known_args(args, namespace)
        self._parsing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._parsing = False


# -- Commands --------------------------------------------------------------


def _add_demo(commands, logs):
    demo = commands.add_parser(
        "demo",
        parents=[logs],
        help="train a ViT on the bundled digits, export it to LiteRT, check it",
        description=(
            "Trains vit_digits with model.fit on scikit-learn's bundled 8x8 "
            "digits, exports it to LiteRT as float32 and full int8, runs "
            "both with the LiteRT interpreter on the held-out images and "
            "prints accuracy, difference from Keras, size and latency; "
            "also writes a MediaPipe-ready image classifier and a web page "
            "(FOLDER/web) where you draw a digit for it (see keras-attn "
            "serve). Needs no download."
        ),
    )
    demo.add_argument(
        "--output",
        default="keras-attn-demo",
        metavar="FOLDER",
        help="folder for the model, .tflite files, results and pictures "
        "(default: %(default)s)",
    )
    demo.add_argument(
        "--epochs",
        type=positive_int,
        metavar="N",
        default=40,
        help="training epochs of the ViT (default %(default)s: about 98%% "
        "held-out accuracy)",
    )
    demo.add_argument(
        "--seed",
        type=non_negative_int,
        metavar="N",
        default=0,
        help="seeds the split, the weights and the shuffling (default "
        "%(default)s)",
    )
    demo.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        default=2,
        help="LiteRT interpreter threads (default %(default)s)",
    )
    demo.add_argument(
        "--progress",
        choices=PROGRESS,
        default="auto",
        help=PROGRESS_HELP,
    )
    demo.add_argument(
        "--text-data",
        metavar="FILE",
        help="a .tsv or .csv of labelled sentences (for example SST-2's "
        "train.tsv): with the all-MiniLM-L6-v2 package installed, also "
        "fine-tune it on a slice and check its LiteRT and MediaPipe files",
    )
    demo.add_argument(
        "--text-rows",
        type=positive_int,
        metavar="N",
        default=2000,
        help="rows of --text-data used, a fifth held out (default "
        "%(default)s, at least 10)",
    )
    add_text_columns(demo, "--text-data")
    demo.set_defaults(func=actions.demo)


def _add_serve(commands, logs):
    serve = commands.add_parser(
        "serve",
        parents=[logs],
        help="serve a web page folder (the demo's FOLDER/web) on 127.0.0.1",
        description=(
            "Serves FOLDER, with /node_modules/ from FOLDER/node_modules "
            "(npm install --prefix FOLDER puts the pinned MediaPipe "
            "packages there) or --node-modules DIR, on 127.0.0.1 only, "
            "prints the URL and runs until Ctrl-C. Nothing else is fetched: "
            "the page works offline."
        ),
    )
    serve.add_argument("folder", metavar="FOLDER", help="the page's folder")
    serve.add_argument(
        "--port",
        type=non_negative_int,
        metavar="N",
        default=8000,
        help="the port (default %(default)s; 0 takes a free one)",
    )
    serve.add_argument(
        "--node-modules",
        metavar="DIR",
        help="the npm packages' folder (default: FOLDER/node_modules)",
    )
    serve.set_defaults(func=actions.serve)


def _add_export(commands, logs):
    parser = commands.add_parser(
        "export",
        parents=[logs],
        help="export a .keras model or a Translator to TFLite or SavedModel",
        description=(
            "Exports MODEL with keras_attn.export, checks the artifact against "
            "the Keras model on sample inputs and prints the report: "
            "operators, size, largest difference, latency. With --mediapipe, "
            "the .tflite file carries the metadata MediaPipe Tasks reads "
            "(tokenizer, labels, image normalization)."
        ),
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="a .keras file, a keras-attn train run folder or a Translator "
        "folder",
    )
    parser.add_argument(
        "--to",
        choices=["tflite", "saved_model"],
        required=True,
        help="a LiteRT .tflite file or a SavedModel folder",
    )
    parser.add_argument(
        "--output",
        required=True,
        metavar="PATH",
        help="the .tflite file, or the SavedModel folder, to write",
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default=None,
        help="tflite: float16 or int8 weights (dynamic_int8), or int8 "
        "weights and activations (int8, needs --calibration)",
    )
    parser.add_argument(
        "--calibration",
        metavar="NPZ",
        help="for --quantize int8: an .npz with one array per model input "
        "(named as the inputs), examples along the first axis",
    )
    parser.add_argument(
        "--sequence-length",
        type=length_or_dynamic,
        metavar="N",
        default=None,
        help="text models: the fixed number of tokens (default: the length "
        "the model was trained at, when it holds its preprocessor (a "
        "task); with --mediapipe, else 128 or its position table's size "
        "if smaller), or dynamic for a .tflite file that takes any length "
        "(slower, CPU only)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        metavar="N",
        default=1,
        help="fixed batch of the .tflite file (default 1)",
    )
    parser.add_argument(
        "--preprocessor",
        metavar="FOLDER",
        help="saved_model only: a Hugging Face BERT folder (vocab.txt) "
        "whose tokenizer goes into the signature, which then takes strings",
    )
    parser.add_argument(
        "--allow-flex",
        action="store_true",
        help="accept Flex (select TensorFlow) operators",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        default=2,
        help="interpreter threads of the check (default 2)",
    )
    parser.add_argument(
        "--report", metavar="JSON", help="also write the report here"
    )
    mediapipe = parser.add_argument_group("MediaPipe Tasks (with --to tflite)")
    mediapipe.add_argument(
        "--mediapipe",
        choices=MEDIAPIPE_TASKS,
        metavar="TASK",
        help="write a file MediaPipe Tasks runs as it is, for the task "
        f"{', '.join(MEDIAPIPE_TASKS)}",
    )
    mediapipe.add_argument(
        "--labels",
        metavar="FILE",
        help="classifiers: the class names in output order, one a line "
        "or a JSON list (default: classes.json beside MODEL)",
    )
    mediapipe.add_argument(
        "--vocab",
        metavar="FOLDER_OR_FILE",
        help="text tasks: the checkpoint folder (vocab.txt, "
        "tokenizer_config.json) or a vocab.txt (default: MODEL's folder "
        "when it holds vocab.txt)",
    )
    mediapipe.add_argument(
        "--normalization",
        type=normalization,
        metavar="MEAN,STD",
        help="image tasks: the model's input is (pixel - MEAN) / STD of "
        "0..255 pixels; 0,255 for keras-attn's ViTs (inputs in [0, 1])",
    )
    mediapipe.add_argument(
        "--grayscale",
        choices=GRAYSCALE,
        help="image tasks, a model of one channel: MediaPipe's RGB made grey "
        "inside the file, as the channels' mean or as luma (0.299 R + "
        "0.587 G + 0.114 B)",
    )
    mediapipe.add_argument(
        "--probabilities",
        action="store_true",
        help="classifiers: a softmax inside the file, so MediaPipe reports "
        "probabilities (default: the model's logits)",
    )
    where = parser.add_argument_group("phone accelerators (with --to tflite)")
    where.add_argument(
        "--accelerators",
        type=accelerator_list,
        metavar="gpu,npu",
        help="also compile the file for LiteRT's GPU accelerator and "
        "Qualcomm's NPU and report what runs there",
    )
    where.add_argument(
        "--gpu-delegate",
        action="store_true",
        help="trace attention and layer norm in the forms MediaPipe's GPU "
        "delegate (delegate GPU; WebGL 2 on the web) computes: float "
        "files of short inputs, such as a ViT's",
    )
    where.add_argument(
        "--soc",
        type=soc_list,
        metavar="SOC,...",
        help="the Qualcomm SoCs of the NPU check (default: all of "
        f"{','.join(QUALCOMM_SOCS)})",
    )
    parser.set_defaults(func=actions.export)


def _add_inspect(commands, logs):
    inspect = commands.add_parser(
        "inspect",
        parents=[logs],
        help="list a .tflite file's inputs, outputs, operators and metadata",
    )
    inspect.add_argument("file", metavar="FILE", help="a .tflite file")
    inspect.add_argument(
        "--accelerators",
        type=accelerator_list,
        nargs="?",
        const=ACCELERATORS,
        metavar="gpu,npu",
        help="also compile FILE for LiteRT's GPU accelerator and Qualcomm's "
        "NPU (both without a value) and print what runs there",
    )
    inspect.add_argument(
        "--soc",
        type=soc_list,
        metavar="SOC,...",
        help="the Qualcomm SoCs of the NPU check (default: all)",
    )
    inspect.set_defaults(func=actions.inspect)


def _add_predict(commands, logs):
    predict = commands.add_parser(
        "predict",
        parents=[logs],
        help="label texts, images or sound clips with a run folder, .keras "
        "or .tflite file",
        description=(
            "Prints the labels and scores the model gives each input, one "
            "line each (best label first), or one JSON object a line with "
            "--json; a translator's run folder prints translations, and a "
            "tagger's (or its .tflite file) tags each input's words (split "
            "at spaces) as word/TAG. Scores are probabilities (a softmax of "
            "the model's logits where it has none). Another .tflite file "
            "must be a MediaPipe classifier (keras-attn export --mediapipe "
            "...): its vocabulary, labels, image normalization or sample "
            "rate are read from it and used as MediaPipe Tasks uses them "
            "(a clip longer than the file's window is scored as the mean of "
            "its back-to-back windows)."
        ),
    )
    predict.add_argument(
        "model",
        metavar="MODEL",
        help="a run folder of keras-attn train, a .keras task file, a "
        "MediaPipe classifier .tflite file, or a tagger's .tflite file",
    )
    predict.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help=(
            "texts, or for an image model image files (PNG, JPEG), or "
            "for an audio model clips (WAV, FLAC)"
        ),
    )
    predict.add_argument(
        "--input",
        metavar="FILE",
        help="also the inputs in FILE, one a line (texts, or image or clip "
        "paths); "
        "- reads standard input",
    )
    predict.add_argument(
        "--json",
        action="store_true",
        help='one JSON object a line: {"input": ..., "labels": [{"label": '
        '..., "score": ...}, ...]} (a translator: "translation")',
    )
    predict.add_argument(
        "--top",
        type=positive_int,
        metavar="K",
        help="the K best labels of each input (default: 1, and every label "
        "with --json)",
    )
    predict.set_defaults(func=actions.predict)
    predict.__class__ = _IntermixedParser  # TEXT ... around the options


def build_parser():
    """The `argparse` parser of every `keras-attn` command.

    Example:

    >>> from keras_attn.cli import build_parser
    >>> args = build_parser().parse_args(
    ...     ["export", "model.keras", "--to", "tflite", "--quantize",
    ...      "dynamic_int8", "--output", "model.tflite"]
    ... )
    >>> args.to, args.quantize, args.output, args.verbose
    ('tflite', 'dynamic_int8', 'model.tflite', False)
    """
    parser = Parser(
        prog="keras-attn",
        description="Keras 3 attention layers and models.",
    )
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )
    logs = logs_parent()
    _add_demo(commands, logs)
    _add_export(commands, logs)
    _add_inspect(commands, logs)
    _add_predict(commands, logs)
    _add_serve(commands, logs)
    add_train(commands, logs)
    version = commands.add_parser(
        "version", parents=[logs], help="print versions"
    )
    version.set_defaults(func=actions.version)
    return parser
