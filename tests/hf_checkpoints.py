"""Hugging Face style BERT folders made here, for the tests that load them.

Random tensors with `transformers`' BERT names and layouts (linear weights
as `(out, in)`), written with safetensors beside a `config.json`. Used by
tests/models/bert/test_bert_huggingface.py (against a NumPy BERT), the
attention-map tests and the demo's text part.
"""

import json

import numpy as np
from safetensors.numpy import save_file

CONFIG = {
    "model_type": "bert",
    "architectures": ["BertModel"],
    "vocab_size": 40,
    "hidden_size": 12,
    "num_hidden_layers": 2,
    "num_attention_heads": 3,
    "intermediate_size": 20,
    "max_position_embeddings": 16,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "layer_norm_eps": 1e-12,
}


def hf_tensors(config, seed=0, norm_names=("weight", "bias")):
    rng = np.random.default_rng(seed)
    d, i = config["hidden_size"], config["intermediate_size"]

    def t(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype("float32")

    def norm(prefix):
        return {
            f"{prefix}.{norm_names[0]}": 1.0 + t(d, scale=0.1),
            f"{prefix}.{norm_names[1]}": t(d, scale=0.1),
        }

    tensors = {
        "embeddings.word_embeddings.weight": t(config["vocab_size"], d),
        "embeddings.position_embeddings.weight": t(
            config["max_position_embeddings"], d
        ),
        "embeddings.token_type_embeddings.weight": t(2, d),
        **norm("embeddings.LayerNorm"),
        "pooler.dense.weight": t(d, d),
        "pooler.dense.bias": t(d),
    }
    for n in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{n}"
        for part in ("query", "key", "value"):
            tensors[f"{p}.attention.self.{part}.weight"] = t(d, d)
            tensors[f"{p}.attention.self.{part}.bias"] = t(d)
        tensors[f"{p}.attention.output.dense.weight"] = t(d, d)
        tensors[f"{p}.attention.output.dense.bias"] = t(d)
        tensors.update(norm(f"{p}.attention.output.LayerNorm"))
        tensors[f"{p}.intermediate.dense.weight"] = t(i, d)
        tensors[f"{p}.intermediate.dense.bias"] = t(i)
        tensors[f"{p}.output.dense.weight"] = t(d, i)
        tensors[f"{p}.output.dense.bias"] = t(d)
        tensors.update(norm(f"{p}.output.LayerNorm"))
    return tensors


def write_folder(folder, config, tensors):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(tensors, str(folder / "model.safetensors"))
    return folder
