"""The masked-LM head, tied to the BERT token embeddings."""

import math

import keras
import keras_hub
import numpy as np
import pytest
from layer_checks import max_diff
from layer_checks import randomize_model
from layer_checks import run_layer_test
from layer_checks import to_np
from test_bert import SMALL

from keras_attn import models
from keras_attn.layers._activations import gelu_approximate
from keras_attn.models.bert.masked_lm import BertMaskedLM
from keras_attn.models.bert.masked_lm import MaskedLMHead
from keras_attn.models.bert.masked_lm import bert_masked_lm


def batch(seed=0):
    """Three padded rows and two mask positions per row, inside the row."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 60, (3, 8)).astype("int32")
    lengths = np.array([8, 5, 3])
    mask = np.arange(8)[None, :] < lengths[:, None]
    ids[~mask] = 0
    segments = (np.arange(8)[None, :] >= np.array([4, 3, 1])[:, None]) & mask
    positions = np.stack(
        [rng.choice(n, 2, replace=False) for n in lengths]
    ).astype("int32")
    return {
        "token_ids": ids,
        "segment_ids": segments.astype("int32"),
        "padding_mask": mask.astype("int32"),
        "mask_positions": positions,
    }


def token_table(model):
    return model.backbone.get_layer("embeddings").embeddings


# --- the layer -------------------------------------------------------------


def test_head_untied_passes_the_layer_checks():
    run_layer_test(
        MaskedLMHead,
        {"vocabulary_size": 30, "activation": "gelu_approximate"},
        {
            "inputs": ((2, 6, 8), "float32"),
            "mask_positions": ((2, 3), "int32", 6),
        },
        expected_output_shape=(2, 3, 30),
        # dense kernel and bias, layer norm gamma and beta, output kernel
        # and bias.
        expected_num_trainable_weights=6,
    )


def test_head_tied_passes_the_layer_checks():
    embedding = keras.layers.Embedding(30, 8)
    run_layer_test(
        MaskedLMHead,
        {"token_embedding": embedding, "layer_norm_epsilon": 1e-5},
        {
            "inputs": ((2, 6, 8), "float32"),
            "mask_positions": ((2, 3), "int32", 6),
        },
        expected_output_shape=(2, 3, 30),
        # dense (2), layer norm (2), output bias, and the embedding table.
        expected_num_trainable_weights=6,
    )


def test_head_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="neither"):
        MaskedLMHead()
    with pytest.raises(TypeError, match="Embedding or None; received Dense"):
        MaskedLMHead(token_embedding=keras.layers.Dense(4))
    with pytest.raises(ValueError, match=r"input_dim.*\(30\).*=31"):
        MaskedLMHead(31, token_embedding=keras.layers.Embedding(30, 8))
    with pytest.raises(ValueError, match="activation.*received"):
        MaskedLMHead(30, activation="no_such_thing")
    head = MaskedLMHead(30)
    hidden = np.zeros((2, 6, 8), "float32")
    with pytest.raises(TypeError, match="integer.*received dtype float32"):
        head(hidden, np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"mask_positions.*\(2, 3, 1\)"):
        MaskedLMHead(30)(hidden, np.zeros((2, 3, 1), "int32"))
    with pytest.raises(ValueError, match=r"`inputs` of rank 3.*\(6, 8\)"):
        MaskedLMHead(30)(hidden[0], np.zeros((2, 3), "int32"))


# --- the model -------------------------------------------------------------


def test_model_reads_activation_and_epsilon_from_the_backbone():
    model = bert_masked_lm(
        models.bert_backbone(
            **SMALL, activation="relu", layer_norm_epsilon=1e-7
        )
    )
    assert isinstance(model, BertMaskedLM)
    head = model.get_layer("masked_lm_head")
    assert head.activation is keras.activations.relu
    assert head.layer_norm_epsilon == 1e-7
    # A converted keras-hub backbone uses the tanh GELU, and so does the
    # head unless told otherwise.
    hub = keras_hub.models.BertBackbone(**SMALL)
    head = bert_masked_lm(models.from_keras_hub(hub)).masked_lm_head
    assert head.activation is gelu_approximate
    assert head.layer_norm_epsilon == 1e-12
    # Explicit arguments win.
    head = bert_masked_lm(
        models.from_keras_hub(hub), activation="gelu", layer_norm_epsilon=1e-5
    ).masked_lm_head
    assert head.activation is keras.activations.gelu
    assert head.layer_norm_epsilon == 1e-5


def test_embedding_table_is_shared_not_copied():
    backbone = models.bert_backbone(**SMALL)
    model = bert_masked_lm(backbone)
    table = backbone.get_layer("embeddings").embeddings
    head = model.get_layer("masked_lm_head")
    assert head.token_embedding.embeddings is table
    assert sum(w is table for w in model.trainable_weights) == 1
    assert sum(w is table for w in model.weights) == 1
    paths = [w.path for w in model.weights]
    assert len(set(paths)) == len(paths), paths
    hidden = SMALL["hidden_dim"]
    # dense kernel + bias, layer norm gamma + beta, output bias; no table.
    extra = hidden * hidden + hidden + 2 * hidden + SMALL["vocabulary_size"]
    assert model.count_params() == backbone.count_params() + extra
    assert len(model.trainable_weights) == len(backbone.trainable_weights) + 5
    # Writing through the backbone changes the logits.
    inputs = batch()
    before = to_np(model(inputs))
    table.assign(table.numpy() * 2.0)
    assert max_diff(model(inputs), before) > 1e-3


def test_equals_keras_hub_bert_masked_lm():
    hub = keras_hub.models.BertBackbone(**SMALL, dropout=0.1)
    hub_lm = keras_hub.models.BertMaskedLM(backbone=hub, preprocessor=None)
    randomize_model(hub_lm, seed=1, scale=0.2)
    # keras-hub's head uses the exact GELU and epsilon 1e-5.
    ours = bert_masked_lm(
        models.from_keras_hub(hub), activation="gelu", layer_norm_epsilon=1e-5
    )
    source = hub_lm.masked_lm_head
    head = ours.get_layer("masked_lm_head")
    head.dense.set_weights(source._intermediate_dense.get_weights())
    head.layer_norm.set_weights(source._intermediate_layer_norm.get_weights())
    head.output_bias.assign(source._bias.numpy())

    inputs = batch()
    want = to_np(hub_lm(inputs))
    got = to_np(ours(inputs))
    assert got.shape == want.shape == (3, 2, 60)
    assert np.std(want) > 0.1  # non-trivial logits
    assert max_diff(got, want) <= 1e-5, max_diff(got, want)
    # The head's weights matter: a fresh head differs.
    head.output_bias.assign(np.zeros(60, "float32"))
    assert max_diff(ours(inputs), want) > 1e-2


def _gelu(x, approximate):
    if approximate:
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1.0 + np.tanh(inner))
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


@pytest.mark.parametrize("activation", ["gelu", "gelu_approximate"])
def test_equals_a_numpy_float64_reference(activation):
    backbone = models.bert_backbone(**SMALL, activation=activation)
    model = bert_masked_lm(backbone)
    randomize_model(model, seed=1, scale=0.3)
    inputs = batch(seed=3)
    got = to_np(model(inputs))

    backbone_inputs = {k: v for k, v in inputs.items() if k != "mask_positions"}
    sequence = to_np(backbone(backbone_inputs)["sequence_output"])
    sequence = sequence.astype("float64")
    head = model.get_layer("masked_lm_head")
    kernel, bias = (w.numpy().astype("float64") for w in head.dense.weights)
    gamma, beta = (w.numpy().astype("float64") for w in head.layer_norm.weights)
    table = token_table(model).numpy().astype("float64")
    out_bias = head.output_bias.numpy().astype("float64")

    rows = np.arange(3)[:, None]
    x = sequence[rows, inputs["mask_positions"]]  # (B, M, D)
    x = _gelu(x @ kernel + bias, activation == "gelu_approximate")
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    x = (x - mean) / np.sqrt(var + 1e-12) * gamma + beta
    want = x @ table.T + out_bias  # (B, M, V)
    assert np.std(want) > 0.1
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("activation", ["gelu", "gelu_approximate"])
def test_keras_file_round_trip_keeps_outputs_and_the_tie(activation, tmp_path):
    model = bert_masked_lm(
        models.bert_backbone(**SMALL, activation=activation), name="mlm"
    )
    randomize_model(model, seed=1, scale=0.2)
    path = tmp_path / "masked_lm.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is BertMaskedLM
    assert restored.name == "mlm"
    inputs = batch()
    np.testing.assert_array_equal(to_np(restored(inputs)), to_np(model(inputs)))
    head = restored.get_layer("masked_lm_head")
    assert head.activation is model.masked_lm_head.activation
    table = token_table(restored)
    assert head.token_embedding.embeddings is table
    assert sum(w is table for w in restored.trainable_weights) == 1
    assert restored.count_params() == model.count_params()


def test_model_rejects_bad_backbones_and_positions():
    with pytest.raises(TypeError, match="keras.Model.*received Dense"):
        bert_masked_lm(keras.layers.Dense(3))
    vit = models.vit_backbone("vit_digits", num_layers=1)
    with pytest.raises(ValueError, match=r"token_ids.*received.*\['images'\]"):
        bert_masked_lm(vit)
    model = bert_masked_lm(models.bert_backbone(**SMALL))
    inputs = batch()
    inputs["mask_positions"] = inputs["mask_positions"][0]  # (M,)
    with pytest.raises(ValueError, match="mask_positions"):
        model(inputs)


def toy_task(n, seed):
    """Each row repeats one id (2..41); two positions are masked with id 1
    and must be predicted from the others."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(rng.integers(2, 42, (n, 1)), 8, axis=1).astype("int32")
    positions = np.stack(
        [rng.choice(8, 2, replace=False) for _ in range(n)]
    ).astype("int32")
    labels = np.take_along_axis(ids, positions, axis=1)
    np.put_along_axis(ids, positions, 1, axis=1)
    inputs = {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": np.ones_like(ids),
        "mask_positions": positions,
    }
    return inputs, labels


def test_fit_reduces_the_loss_and_trains_the_shared_table():
    keras.utils.set_random_seed(0)
    backbone = models.bert_backbone(**SMALL, dropout=0.0)
    model = bert_masked_lm(backbone)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    table = backbone.get_layer("embeddings").embeddings
    before = table.numpy().copy()
    inputs, labels = toy_task(64, 0)
    history = model.fit(inputs, labels, batch_size=16, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    # From about log(60) = 4.09, falling every epoch. BERT's small
    # initial table (stddev 0.02) makes the tied logits start tiny, so the
    # fall is steady rather than steep.
    assert np.all(np.diff(losses) < 0), losses
    assert losses[-1] < losses[0] - 0.5, losses
    after = table.numpy()
    head = model.get_layer("masked_lm_head")
    # One variable, seen the same from both sides, and trained.
    assert head.token_embedding.embeddings is table
    np.testing.assert_array_equal(head.token_embedding.embeddings, after)
    # Ids 50..59 never occur in the inputs: only the output projection
    # gives their rows a gradient, so they moved through the tie.
    assert not np.any(np.isin(inputs["token_ids"], np.arange(50, 60)))
    assert np.all(np.any(after[50:] != before[50:], axis=1))
    assert np.any(after[2:42] != before[2:42])
