"""Value types and options several `keras-attn` commands share (no
TensorFlow or Keras imported).

Each type raises `argparse.ArgumentTypeError` with a message that says
what was expected and what was received; the parser prints it on one line
after the flag's name.
"""

import argparse
import math

from keras_attn._choices import ACCELERATORS
from keras_attn._choices import QUALCOMM_SOCS

# -- Values --------------------------------------------------------------


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text}")
    return value


def length_or_dynamic(text):
    """A positive int, or `dynamic` (a length left to run time)."""
    if text == "dynamic":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive int or dynamic, got {text}"
        ) from None


def non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text}")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"expected a positive number, got {text}"
        )
    return value


def _names(allowed, what):
    def parse(text):
        names = [name.strip() for name in text.split(",")]
        unknown = [name for name in names if name not in allowed]
        if not text.strip() or unknown or len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(
                f"expected {what}, comma-separated, from "
                f"{','.join(allowed)}; got {text!r}"
            )
        return tuple(names)

    return parse


accelerator_list = _names(ACCELERATORS, "accelerators")
soc_list = _names(QUALCOMM_SOCS, "Qualcomm SoC names")


def normalization(text):
    """`MEAN,STD` as two floats, STD > 0."""
    parts = text.split(",")
    try:
        mean, std = (float(part) for part in parts)
    except ValueError:
        mean, std = math.nan, math.nan
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise argparse.ArgumentTypeError(
            "expected MEAN,STD (two numbers, STD > 0, such that the model "
            f"input is (pixel - MEAN) / STD of 0..255 pixels); got {text!r}"
        )
    return mean, std


class TrainVerbose(argparse.Action):
    """`--verbose` of `train`: alone, TensorFlow's logs (as everywhere);
    with 0, 1 or 2, the fit verbosity of old scripts (`--progress`)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs="?", **kwargs)

    def __call__(self, parser, namespace, value, option_string=None):
        if value is None:
            namespace.verbose = True
        elif value in ("0", "1", "2"):
            namespace.fit_verbose = int(value)
        else:
            parser.error(
                f"argument --verbose: expected no value (show TensorFlow's "
                f"logs) or the fit verbosity 0, 1 or 2; got {value!r}"
            )


# -- Options several commands share ---------------------------------------

VERBOSE_HELP = (
    "show TensorFlow's C++ start-up logs, hidden by default (also "
    "accepted before the command: keras-attn --verbose ...)"
)
PROGRESS_HELP = (
    "training progress: a live bar on a terminal and one line per epoch "
    "otherwise (auto, the default), or always bar, epoch or none"
)


def logs_parent():
    parent = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: not given after the command, the value given before it
    # (or False) stays.
    parent.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help=VERBOSE_HELP,
    )
    return parent


def add_text_columns(parser, what):
    parser.add_argument(
        "--text-column",
        metavar="NAME",
        help=f"the text column of {what} (default: sentence, or else the "
        "one of text, content, review the header has)",
    )
    parser.add_argument(
        "--label-column",
        metavar="NAME",
        help=f"the label column of {what} (default: label); labels are "
        "class ids 0, 1, ... or class names such as pos, neg",
    )
