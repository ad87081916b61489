"""The `keras-attn` command line.

Installed as the `keras-attn` script; `main` runs it from Python with a
list of arguments and returns the exit status. Commands:

- `keras-attn demo`: the quick start (digits ViT to LiteRT, no download);
- `keras-attn train {text-classifier,translator,vit}`: the training jobs;
- `keras-attn export MODEL.keras --to {saved_model,tflite} --output PATH`;
- `keras-attn inspect MODEL.tflite`: inputs, outputs, ops, size;
- `keras-attn version`.

Floor 5 (an application). Importing it loads neither TensorFlow nor
Keras: `parser` builds the arguments, then the command's function in
`commands` imports what it needs, so `keras-attn --help` answers at once.
"""

import sys

from keras_attn.cli.parser import build_parser

__all__ = ["build_parser", "main"]


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
