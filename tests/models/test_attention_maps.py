"""`attention_model` / `attention_maps` on every model kind, against NumPy."""

import keras
import numpy as np
import pytest
from hf_checkpoints import CONFIG as HF_CONFIG
from hf_checkpoints import hf_tensors
from hf_checkpoints import write_folder
from keras import ops
from layer_checks import randomize_model

from keras_attn import layers
from keras_attn.models import attention_maps
from keras_attn.models import attention_model
from keras_attn.models import bert_backbone
from keras_attn.models import bert_sentence_embedder
from keras_attn.models import bert_text_classifier
from keras_attn.models import load_bert
from keras_attn.models import vit_backbone
from keras_attn.models import vit_classifier

BERT_SMALL = {
    "vocabulary_size": 60,
    "num_layers": 3,
    "num_heads": 2,
    "hidden_dim": 16,
    "intermediate_dim": 32,
    "max_sequence_length": 10,
}
VIT_SMALL = {
    "num_layers": 2,
    "hidden_dim": 16,
    "num_heads": 2,
    "intermediate_dim": 32,
}


def text_batch(seed=0):
    """Three sequences of lengths 8, 5 and 2, padded with 0 to 8."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 40, (3, 8)).astype("int32")
    mask = np.arange(8)[None, :] < np.array([8, 5, 2])[:, None]
    ids[~mask] = 0
    segments = (np.arange(8)[None, :] >= np.array([4, 3, 1])[:, None]) & mask
    return {
        "token_ids": ids,
        "segment_ids": segments.astype("int32"),
        "padding_mask": mask.astype("int32"),
    }


def image_batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, (2, 8, 8, 1)).astype("float32")


def numpy_tree(x):
    return keras.tree.map_structure(ops.convert_to_numpy, x)


def build(kind, tmp_path):
    """(model, inputs, backbone) for each supported model kind."""
    if kind == "load_bert":
        folder = write_folder(
            tmp_path / "bert", HF_CONFIG, hf_tensors(HF_CONFIG)
        )
        backbone = load_bert(folder)
        return backbone, text_batch(), backbone
    if kind.startswith("bert") or kind.startswith("text"):
        backbone = bert_backbone(**BERT_SMALL)
        randomize_model(backbone, seed=1, scale=0.3)
        model = {
            "bert_backbone": lambda: backbone,
            "text_classifier_pooled": lambda: bert_text_classifier(backbone, 3),
            "text_classifier_mean": lambda: bert_text_classifier(
                backbone, 3, pooling="mean"
            ),
            "bert_sentence_embedder": lambda: bert_sentence_embedder(backbone),
        }[kind]()
        return model, text_batch(), backbone
    pooling = "mean" if kind.endswith("mean") else "class_token"
    if kind == "vit_backbone":
        model = vit_backbone("vit_digits", **VIT_SMALL)
        backbone = model
    else:
        model = vit_classifier(3, "vit_digits", pooling=pooling, **VIT_SMALL)
        backbone = model.get_layer("vit_backbone")
    randomize_model(model, seed=1, scale=0.3)
    return model, image_batch(), backbone


KINDS = [
    "bert_backbone",
    "load_bert",
    "text_classifier_pooled",
    "text_classifier_mean",
    "bert_sentence_embedder",
    "vit_backbone",
    "vit_classifier",
    "vit_classifier_mean",
]


@pytest.mark.parametrize("kind", KINDS)
def test_outputs_equal_the_model_and_scores_are_probabilities(kind, tmp_path):
    model, inputs, backbone = build(kind, tmp_path)
    explainer = attention_model(model)
    out = numpy_tree(explainer(inputs))
    expected = numpy_tree(model(inputs))

    assert sorted(out) == ["attention_scores", "outputs"]
    keras.tree.assert_same_structure(out["outputs"], expected)
    for got, want in zip(
        keras.tree.flatten(out["outputs"]),
        keras.tree.flatten(expected),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)

    encoders = [
        layer
        for layer in backbone.layers
        if isinstance(layer, layers.TransformerEncoder)
    ]
    names = [f"transformer_layer_{i}" for i in range(len(encoders))]
    assert list(out["attention_scores"]) == names
    assert explainer.attention_layer_names == tuple(names)

    if isinstance(inputs, dict):
        batch, length = inputs["token_ids"].shape
        real_keys = inputs["padding_mask"].astype(bool)[:, None, None, :]
    else:
        batch = inputs.shape[0]
        length = backbone.get_layer("patch_embedding").output.shape[1]
        real_keys = np.ones((batch, 1, 1, length), bool)
    for encoder, name in zip(encoders, names, strict=True):
        scores = out["attention_scores"][name]
        assert scores.shape == (batch, encoder.num_heads, length, length)
        assert np.all(scores >= 0.0)
        # Exactly zero on padded keys, a distribution over the real ones.
        np.testing.assert_array_equal(
            np.where(real_keys, 0.0, scores), np.zeros_like(scores)
        )
        np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-5)


def numpy_attention(x, attention, padding_mask=None):
    """softmax(q k^T / sqrt(d)) in float64, from the layer's own weights."""
    weights = {w.name: np.asarray(w, "float64") for w in attention.weights}
    x = np.asarray(x, "float64")
    q = np.einsum("btd,dhk->bthk", x, weights["query_kernel"])
    q = q + weights["query_bias"]
    k = np.einsum("btd,dhk->bthk", x, weights["key_kernel"])
    k = k + weights["key_bias"]
    logits = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(q.shape[-1])
    if padding_mask is not None:
        allowed = padding_mask.astype(bool)[:, None, None, :]
        logits = np.where(allowed, logits, -np.inf)
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    return probs / probs.sum(axis=-1, keepdims=True)


def numpy_layer_norm(x, layer):
    x = np.asarray(x, "float64")
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    normed = (x - mean) / np.sqrt(var + layer.epsilon)
    return normed * np.asarray(layer.gamma) + np.asarray(layer.beta)


def layer_inputs(backbone, inputs, names):
    """Each encoder's input sequence, from the original model's graph."""
    sequences = []
    for name in names:
        layer_input = backbone.get_layer(name).input
        if isinstance(layer_input, (list, tuple)):  # (x, padding_mask)
            layer_input = layer_input[0]
        sequences.append(layer_input)
    model = keras.Model(backbone.input, sequences)
    return [ops.convert_to_numpy(x) for x in model(inputs)]


@pytest.mark.parametrize("kind", ["text_classifier_pooled", "load_bert"])
def test_bert_scores_equal_numpy(kind, tmp_path):
    model, inputs, backbone = build(kind, tmp_path)
    scores = attention_maps(model, inputs)
    names = list(scores)
    for name, x in zip(
        names, layer_inputs(backbone, inputs, names), strict=True
    ):
        encoder = backbone.get_layer(name)
        # BERT is post-norm: the attention sees the layer input as it is
        # (layer 0: the embedding output).
        expected = numpy_attention(
            x, encoder.self_attention, inputs["padding_mask"]
        )
        np.testing.assert_allclose(scores[name], expected, atol=1e-5)


def test_vit_scores_equal_numpy(tmp_path):
    model, inputs, backbone = build("vit_classifier", tmp_path)
    scores = attention_maps(model, inputs)
    names = list(scores)
    for name, x in zip(
        names, layer_inputs(backbone, inputs, names), strict=True
    ):
        encoder = backbone.get_layer(name)
        # ViT is pre-norm: the attention sees the normalised input.
        normed = numpy_layer_norm(x, encoder.self_attention_layer_norm)
        expected = numpy_attention(normed, encoder.self_attention)
        np.testing.assert_allclose(scores[name], expected, atol=1e-5)


def test_weights_are_shared_not_copied(tmp_path):
    model, inputs, backbone = build("text_classifier_pooled", tmp_path)
    explainer = attention_model(model)
    assert {id(w) for w in explainer.weights} == {id(w) for w in model.weights}
    assert explainer.count_params() == model.count_params()

    before = numpy_tree(explainer(inputs))
    kernel = backbone.get_layer("transformer_layer_0").self_attention
    kernel = kernel.query_kernel
    kernel.assign(2.0 * ops.convert_to_numpy(kernel) + 0.5)
    after = numpy_tree(explainer(inputs))
    first = "transformer_layer_0"
    assert not np.allclose(
        before["attention_scores"][first], after["attention_scores"][first]
    )
    # Every weight is shared: new weights everywhere, equal outputs again.
    randomize_model(model, seed=7, scale=0.3)
    np.testing.assert_allclose(
        ops.convert_to_numpy(explainer(inputs)["outputs"]),
        ops.convert_to_numpy(model(inputs)),
        rtol=1e-6,
        atol=1e-6,
    )


def test_training_reaches_the_layers():
    backbone = bert_backbone(**BERT_SMALL, dropout=0.5)
    explainer = attention_model(backbone)
    inputs = text_batch()
    a = numpy_tree(explainer(inputs, training=False))
    b = numpy_tree(explainer(inputs, training=False))
    c = numpy_tree(explainer(inputs, training=True))
    np.testing.assert_array_equal(
        a["outputs"]["sequence_output"], b["outputs"]["sequence_output"]
    )
    assert not np.allclose(
        a["outputs"]["sequence_output"], c["outputs"]["sequence_output"]
    )


def test_many_layers_keep_their_order_and_come_back_as_numpy():
    # 11 layers: sorted names would put "transformer_layer_10" before "_2".
    model = vit_backbone(
        "vit_digits",
        num_layers=11,
        hidden_dim=8,
        num_heads=2,
        intermediate_dim=8,
    )
    explainer = attention_model(model)
    names = [f"transformer_layer_{i}" for i in range(11)]
    assert explainer.attention_layer_names == tuple(names)
    maps = attention_maps(explainer, image_batch())  # an attention model
    assert list(maps) == names
    assert all(isinstance(m, np.ndarray) for m in maps.values())
    assert all(m.shape == (2, 2, 17, 17) for m in maps.values())
    direct = explainer(image_batch())["attention_scores"]
    for name in names:
        np.testing.assert_array_equal(maps[name], direct[name])


def test_a_layer_called_twice_and_scores_already_returned():
    """A custom functional model: one encoder called twice, and one called
    with `return_attention_scores=True` in the original graph."""
    inputs = keras.Input((5, 8))
    shared = layers.TransformerEncoder(16, 2, name="shared")
    last = layers.TransformerEncoder(16, 2, name="last")
    x = shared(shared(inputs))
    x, own_scores = last(x, return_attention_scores=True)
    model = keras.Model(inputs, [x, own_scores])
    explainer = attention_model(model)
    data = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    out = numpy_tree(explainer(data))
    assert list(out["attention_scores"]) == ["shared", "shared/call_1", "last"]
    expected = numpy_tree(model(data))
    for got, want in zip(out["outputs"], expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(
        out["attention_scores"]["last"], out["outputs"][1]
    )


def dense_only():
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs), name="mlp")


def sequential():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])


@pytest.mark.parametrize(
    "make, received",
    [
        (dense_only, "named 'mlp', whose graph calls no attention layer"),
        (sequential, "a Sequential model named"),
        (lambda: "bert", "an object of type str"),
    ],
    ids=["no_attention", "sequential", "string"],
)
def test_unsupported_models_are_refused(make, received):
    with pytest.raises(ValueError) as info:
        attention_model(make())
    message = str(info.value)
    assert "BERT backbones" in message and "ViT" in message
    assert received in message
