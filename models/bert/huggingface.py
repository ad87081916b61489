"""Loading a local Hugging Face style BERT folder into `bert_backbone`.

The folder holds `config.json` and `model.safetensors`, as written by
`transformers` (`BertModel.save_pretrained`) and shipped with
sentence-transformers models. Nothing is downloaded and no code from the
folder runs: the config is JSON and the tensors are read as NumPy arrays.
"""

from pathlib import Path

import numpy as np

from keras_attn.models._common import assign
from keras_attn.models._common import read_json
from keras_attn.models.bert.backbone import bert_backbone

# Hugging Face `hidden_act` names -> ours.
_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "relu": "relu",
}


def _read_config(folder):
    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; load_bert expects a folder with config.json "
            "and model.safetensors."
        )
    config = read_json(path)
    model_type = config.get("model_type")
    if model_type != "bert":
        raise ValueError(
            f"{path} describes model_type={model_type!r}; load_bert reads "
            "'bert' checkpoints."
        )
    activation = config.get("hidden_act", "gelu")
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"{path}: hidden_act={activation!r} is not supported; expected "
            f"one of {sorted(_ACTIVATIONS)}."
        )
    return {
        "vocabulary_size": config["vocab_size"],
        "num_layers": config["num_hidden_layers"],
        "num_heads": config["num_attention_heads"],
        "hidden_dim": config["hidden_size"],
        "intermediate_dim": config["intermediate_size"],
        "max_sequence_length": config["max_position_embeddings"],
        "num_segments": config.get("type_vocab_size", 2),
        "dropout": config.get("hidden_dropout_prob", 0.1),
        "activation": _ACTIVATIONS[activation],
        "layer_norm_epsilon": config.get("layer_norm_eps", 1e-12),
    }


def _read_tensors(folder):
    path = folder / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; load_bert reads safetensors weights only "
            "(pytorch_model.bin is not read)."
        )
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path} could not be read: {error}") from None
    for name, values in tensors.items():
        if np.issubdtype(values.dtype, np.floating) and not (
            np.isfinite(values).all()
        ):
            raise ValueError(
                f"{path}: tensor {name!r} holds NaN or infinite values; a "
                "model built from it would return NaN."
            )
    return tensors


class _Tensors:
    """Hugging Face tensors by name, with or without the `bert.` prefix."""

    def __init__(self, tensors, path):
        self.path = path
        self.prefix = ""
        if not any(k.startswith("embeddings.") for k in tensors) and any(
            k.startswith("bert.embeddings.") for k in tensors
        ):
            self.prefix = "bert."
        self.tensors = tensors

    def __call__(self, name, *alternatives, shape=None):
        """The tensor `name` (or the first alternative present), float32.

        With `shape`, a tensor of another shape raises a ValueError naming
        it (for tensors that are reshaped before they are assigned).
        """
        for candidate in (name, *alternatives):
            key = self.prefix + candidate
            if key in self.tensors:
                value = self.tensors[key].astype("float32")
                if shape is not None and value.shape != shape:
                    raise ValueError(
                        f"Tensor {key} in {self.path} has shape "
                        f"{value.shape}; expected {shape}."
                    )
                return value
        raise ValueError(f"{self.path} has no tensor {self.prefix + name}.")


def _linear(dense_weight):
    """PyTorch's `(out, in)` linear weight as a Keras `(in, out)` kernel."""
    return np.ascontiguousarray(dense_weight.T)


def load_bert(path):
    """Builds `bert_backbone` from a local Hugging Face BERT folder.

    Args:
        path: str or Path. A folder with `config.json` (`model_type` "bert")
            and `model.safetensors` (`BertModel` tensor names, with or
            without the `bert.` prefix of the pretraining heads).

    Returns:
        keras.Model: the backbone of `bert_backbone`, weights in place. Its
        `sequence_output` is Hugging Face's `last_hidden_state` and its
        `pooled_output` is `pooler_output`.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: another architecture, a missing tensor or a tensor of
            the wrong shape (the message names it).

    Example:

    >>> model = load_bert("path/to/all-MiniLM-L6-v2")  # doctest: +SKIP
    """
    folder = Path(path)
    config = _read_config(folder)
    weights = _Tensors(_read_tensors(folder), folder / "model.safetensors")
    model = bert_backbone(name="bert_backbone", **config)
    heads = config["num_heads"]
    hidden = config["hidden_dim"]
    head_dim = hidden // heads

    def layer_norm(layer, name):
        assign(layer.gamma, weights(f"{name}.weight", f"{name}.gamma"), name)
        assign(layer.beta, weights(f"{name}.bias", f"{name}.beta"), name)

    embeddings = model.get_layer("embeddings")
    for variable, name in (
        (embeddings.token_embedding.embeddings, "word_embeddings"),
        (embeddings.position_embedding.embeddings, "position_embeddings"),
        (embeddings.segment_embedding.embeddings, "token_type_embeddings"),
    ):
        name = f"embeddings.{name}.weight"
        assign(variable, weights(name), name)
    layer_norm(embeddings.layer_norm, "embeddings.LayerNorm")

    for index in range(config["num_layers"]):
        block = model.get_layer(f"transformer_layer_{index}")
        attention = block.self_attention
        hf = f"encoder.layer.{index}"
        for part in ("query", "key", "value"):
            name = f"{hf}.attention.self.{part}"
            square = (hidden, hidden)
            kernel = _linear(weights(f"{name}.weight", shape=square))
            bias = weights(f"{name}.bias", shape=(hidden,))
            assign(
                getattr(attention, f"{part}_kernel"),
                kernel.reshape(hidden, heads, head_dim),
                f"{name}.weight",
            )
            assign(
                getattr(attention, f"{part}_bias"),
                bias.reshape(heads, head_dim),
                f"{name}.bias",
            )
        name = f"{hf}.attention.output.dense"
        assign(
            attention.output_kernel,
            _linear(weights(f"{name}.weight", shape=square)).reshape(
                heads, head_dim, hidden
            ),
            f"{name}.weight",
        )
        assign(attention.output_bias, weights(f"{name}.bias"), f"{name}.bias")
        layer_norm(
            block.self_attention_layer_norm, f"{hf}.attention.output.LayerNorm"
        )
        for dense, name in (
            (block.feedforward_intermediate_dense, f"{hf}.intermediate.dense"),
            (block.feedforward_output_dense, f"{hf}.output.dense"),
        ):
            kernel = _linear(weights(f"{name}.weight"))
            assign(dense.kernel, kernel, f"{name}.weight")
            assign(dense.bias, weights(f"{name}.bias"), f"{name}.bias")
        layer_norm(block.feedforward_layer_norm, f"{hf}.output.LayerNorm")

    pooler = model.get_layer("pooler").dense
    name = "pooler.dense"
    assign(pooler.kernel, _linear(weights(f"{name}.weight")), f"{name}.weight")
    assign(pooler.bias, weights(f"{name}.bias"), f"{name}.bias")
    return model
