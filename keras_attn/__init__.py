"""keras_attn: reusable Keras 3 attention layers and the models they make.

`keras_attn.layers`, `keras_attn.load_model` and `CorruptModelError` are
loaded on first use, so that importing the package (as the `keras-attn`
command does before it parses its arguments) loads neither TensorFlow nor
Keras. `from keras_attn import layers` works as always.

Floors, each importing only the floors below (tests/test_architecture.py
keeps it so; docs/architecture.md draws it):

1. `layers`, `errors`, `viz` and the private helpers (`_compat`,
   `_keras_file`, `_choices`);
2. `models` (installed from the repository's `models/`);
3. `data`, `training`, `saving` (`load_model`), and this package's own
   names;
4. `export` (installed from `export/`);
5. the applications: `cli`, `apps` (the demo and the training jobs).
"""

__version__ = "0.1.0"

__all__ = ["CorruptModelError", "layers", "load_model", "__version__"]


def __getattr__(name):
    if name == "layers":
        # Not `from keras_attn import layers`: that would ask this very
        # function for the attribute again before the import sets it.
        import keras_attn.layers as layers

        return layers
    if name == "CorruptModelError":
        from keras_attn.errors import CorruptModelError

        return CorruptModelError
    if name == "load_model":
        from keras_attn.saving import load_model

        return load_model
    raise AttributeError(f"module 'keras_attn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
