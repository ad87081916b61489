"""The `keras-attn` command line.

Installed as the `keras-attn` script; `main` runs it from Python with a
list of arguments and returns the exit status. Commands:

- `keras-attn demo`: the quick start (digits ViT to LiteRT and MediaPipe,
  no download);
- `keras-attn train {text-classifier,token-classifier,translator,vit}`:
  the training jobs;
- `keras-attn export MODEL --to {saved_model,tflite} --output PATH`
  (MODEL a `.keras` file or a run folder, whose sequence length,
  vocabulary and classes are the defaults; `--mediapipe TASK` for
  MediaPipe Tasks, `--accelerators gpu,npu`);
- `keras-attn predict RUN|MODEL.keras|FILE.tflite [TEXT|IMAGE ...]`:
  labels and scores (translations for a translator run);
- `keras-attn inspect MODEL.tflite [--accelerators]`: inputs, outputs,
  ops, size, metadata, and where the file runs;
- `keras-attn version`.

Floor 5 (an application). Importing it loads neither TensorFlow nor
Keras: `parser` builds the arguments and `checks` checks the files and
flags, then the command's function in `commands` imports what it needs,
so `keras-attn --help` and mistakes answer at once. TensorFlow's C++
start-up logs are hidden unless `--verbose` (`_quiet`).
"""

import contextlib
import os
import sys
import warnings

from keras_attn.cli._quiet import quiet_logs
from keras_attn.cli.checks import UsageError
from keras_attn.cli.checks import check
from keras_attn.cli.parser import build_parser

__all__ = ["build_parser", "main"]


@contextlib.contextmanager
def _one_line_warnings(program):
    """Python warnings as `keras-attn ...: warning: ...`, one line each."""
    original = warnings.formatwarning

    def format_warning(message, category, *args, **kwargs):
        return f"{program}: warning: {' '.join(str(message).split())}\n"

    warnings.formatwarning = format_warning
    try:
        yield
    finally:
        warnings.formatwarning = original


def main(argv=None):
    """Runs `keras-attn` with `argv` (default: `sys.argv[1:]`); returns
    the exit status.

    A bad flag, file or value (argparse's errors and `checks.check`'s,
    and what the loaded model shows, such as `--calibration` arrays that
    are not its inputs) prints one line naming the flag on stderr and
    exits through `SystemExit(2)`, as the script does, before any
    training or export starts. A failure of the work itself (a damaged
    file, operators LiteRT lacks) prints one line and returns 2.

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
    >>> import re  # float32 against Keras: 0, or a rounding on some CPUs
    >>> found = re.search(r"max \\|diff\\| ([-+.e0-9]+)", printed.getvalue())
    >>> float(found.group(1)) < 1e-6
    True
    >>> printed = io.StringIO()
    >>> with contextlib.redirect_stdout(printed):
    ...     status = main(["inspect", out])
    >>> status, "FULLY_CONNECTED" in printed.getvalue()
    (0, True)
    """
    args = build_parser().parse_args(argv)
    program = " ".join(
        ["keras-attn", args.command] + ([args.job] if "job" in args else [])
    )
    try:
        check(args)
        with quiet_logs(args.verbose is True), _one_line_warnings(program):
            return args.func(args)
    except UsageError as error:
        message = " ".join(str(error).split())
        print(f"{program}: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None
    except BrokenPipeError:
        # The reader of our output left (`keras-attn predict ... | head -1`):
        # no traceback; stdout goes nowhere so the flush at exit cannot
        # fail again, and the status is 1, as Python's docs advise.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None


if __name__ == "__main__":
    sys.exit(main())
