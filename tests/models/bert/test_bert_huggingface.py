"""`load_bert` on Hugging Face style folders made here, against NumPy.

The checkpoints are random tensors with `transformers`' BERT names and
layouts (linear weights as `(out, in)`), written with safetensors. The
reference is a float64 NumPy BERT written from the paper's equations and
those names, independent of our layers.
"""

import math

import numpy as np
import pytest
from hf_checkpoints import CONFIG
from hf_checkpoints import hf_tensors
from hf_checkpoints import write_folder
from keras import ops

from keras_attn.models import load_bert

_erf = np.vectorize(math.erf)


def numpy_bert(tensors, config, ids, segments, mask):
    """BERT in float64 NumPy; returns (last_hidden_state, pooler_output)."""
    w = {k: v.astype("float64") for k, v in tensors.items()}
    heads = config["num_attention_heads"]
    eps = config["layer_norm_eps"]
    if config["hidden_act"] == "gelu":

        def act(x):
            return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))

    else:  # gelu_new: the tanh approximation

        def act(x):
            inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
            return 0.5 * x * (1.0 + np.tanh(inner))

    def layer_norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = x.var(-1, keepdims=True)
        y = (x - mean) / np.sqrt(var + eps)
        return y * w[f"{prefix}.weight"] + w[f"{prefix}.bias"]

    def linear(x, prefix):
        return x @ w[f"{prefix}.weight"].T + w[f"{prefix}.bias"]

    batch, length = ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:length][None]
        + w["embeddings.token_type_embeddings.weight"][segments]
    )
    x = layer_norm(x, "embeddings.LayerNorm")
    for n in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{n}"

        def split(y):
            return y.reshape(batch, length, heads, -1).transpose(0, 2, 1, 3)

        q, k, v = (
            split(linear(x, f"{p}.attention.self.{part}"))
            for part in ("query", "key", "value")
        )
        logits = q @ k.transpose(0, 1, 3, 2) / math.sqrt(q.shape[-1])
        logits = np.where(mask[:, None, None, :], logits, -np.inf)
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        attended = linear(context, f"{p}.attention.output.dense")
        x = layer_norm(x + attended, f"{p}.attention.output.LayerNorm")
        hidden = act(linear(x, f"{p}.intermediate.dense"))
        x = layer_norm(
            x + linear(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm"
        )
    pooled = np.tanh(linear(x[:, 0], "pooler.dense"))
    return x, pooled


def inputs():
    ids = np.array([[2, 9, 14, 7, 3, 0, 0], [2, 31, 5, 3, 22, 17, 3]], "int32")
    segments = np.array([[0] * 7, [0, 0, 0, 0, 1, 1, 1]], "int32")
    mask = ids != 0
    return ids, segments, mask


def run(model, ids, segments, mask):
    out = model(
        {
            "token_ids": ids,
            "segment_ids": segments,
            "padding_mask": mask.astype("int32"),
        }
    )
    return (
        ops.convert_to_numpy(out["sequence_output"]),
        ops.convert_to_numpy(out["pooled_output"]),
    )


@pytest.mark.parametrize(
    "hidden_act, prefix, norm_names",
    [
        ("gelu", "", ("weight", "bias")),
        ("gelu_new", "bert.", ("gamma", "beta")),
    ],
    ids=["bertmodel", "pretraining_names"],
)
def test_matches_numpy_bert(tmp_path, hidden_act, prefix, norm_names):
    config = {**CONFIG, "hidden_act": hidden_act}
    tensors = hf_tensors(config, norm_names=norm_names)
    stored = {prefix + k: v for k, v in tensors.items()}
    stored["cls.predictions.bias"] = np.zeros(40, "float32")  # ignored
    model = load_bert(write_folder(tmp_path / "bert", config, stored))

    ids, segments, mask = inputs()
    sequence, pooled = run(model, ids, segments, mask)
    reference = {
        k.replace(".gamma", ".weight").replace(".beta", ".bias"): v
        for k, v in tensors.items()
    }
    want_sequence, want_pooled = numpy_bert(
        reference, config, ids, segments, mask
    )
    np.testing.assert_allclose(sequence, want_sequence, atol=1e-5, rtol=0)
    np.testing.assert_allclose(pooled, want_pooled, atol=1e-5, rtol=0)


def test_activation_comes_from_the_config(tmp_path):
    tensors = hf_tensors(CONFIG)
    exact = load_bert(write_folder(tmp_path / "a", CONFIG, tensors))
    tanh = load_bert(
        write_folder(
            tmp_path / "b", {**CONFIG, "hidden_act": "gelu_new"}, tensors
        )
    )
    a, _ = run(exact, *inputs())
    b, _ = run(tanh, *inputs())
    assert np.max(np.abs(a - b)) > 1e-6


def test_missing_tensor_is_named(tmp_path):
    tensors = hf_tensors(CONFIG)
    del tensors["encoder.layer.1.intermediate.dense.bias"]
    folder = write_folder(tmp_path / "bert", CONFIG, tensors)
    with pytest.raises(
        ValueError,
        match=r"model\.safetensors has no tensor "
        r"encoder\.layer\.1\.intermediate\.dense\.bias",
    ):
        load_bert(folder)


def test_wrong_shape_is_named(tmp_path):
    tensors = hf_tensors(CONFIG)
    tensors["encoder.layer.0.attention.self.key.weight"] = np.zeros(
        (12, 10), "float32"
    )
    folder = write_folder(tmp_path / "bert", CONFIG, tensors)
    with pytest.raises(
        ValueError,
        match=r"encoder\.layer\.0\.attention\.self\.key\.weight .*has "
        r"shape \(12, 10\); expected \(12, 12\)",
    ):
        load_bert(folder)


def test_other_architectures_are_refused(tmp_path):
    config = {**CONFIG, "model_type": "roberta"}
    folder = write_folder(tmp_path / "m", config, hf_tensors(CONFIG))
    with pytest.raises(ValueError, match="model_type='roberta'"):
        load_bert(folder)


def test_missing_and_corrupted_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_bert(tmp_path)
    folder = write_folder(tmp_path / "bert", CONFIG, hf_tensors(CONFIG))
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])  # truncated
    with pytest.raises(ValueError, match="model.safetensors could not be read"):
        load_bert(folder)
    weights.unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_bert(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        load_bert(folder)
