"""Every lowered form computes what its layer computes.

`keras_attn.export.lowering` re-runs a model's graph with layers called in
the forms a `.tflite` target runs well. Each form is checked here against
the layer's own call (float rounding only), on inputs with padding, fully
masked rows and odd shapes; the attention forms also against the NumPy
reference the layer itself is held to.
"""

import keras
import numpy as np
import pytest
from attention_reference import check_padding_against_numpy
from attention_reference import random
from attention_reference import randomize

from keras_attn import layers
from keras_attn import models
from keras_attn.export import _attention_forms
from keras_attn.export import _forms
from keras_attn.export import _specs
from keras_attn.export import lowering
from keras_attn.layers._masking import merge_masks

TARGETS = ["float", "int8"]


def lowered_call(target):
    return lowering.Lowering(target).call


def close(got, want, atol=1e-5, rtol=0):
    got = {"x": got} if not isinstance(got, dict) else got
    want = {"x": want} if not isinstance(want, dict) else want
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(
            np.asarray(got[name], "float64"),
            np.asarray(want[name], "float64"),
            atol=atol,
            rtol=rtol,
            err_msg=name,
        )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("return_scores", [False, True])
def test_attention_forms_match_numpy_reference_with_padding(
    target, return_scores
):
    # Includes a row that attends to nothing: zeros, as the layer gives.
    check_padding_against_numpy(return_scores, call=lowered_call(target))


@pytest.mark.parametrize("target", TARGETS)
def test_attention_forms_with_attention_and_causal_masks(target):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    query, value = random((2, 4, 6)), random((2, 4, 6))
    layer(query, value)
    randomize(layer)
    mask = np.random.default_rng(1).random((2, 4, 4)) > 0.5
    mask[1, 2] = False  # a fully masked row
    for kwargs in (
        {"attention_mask": mask},
        {"use_causal_mask": True},
        {"attention_mask": mask, "use_causal_mask": True},
        {"padding_mask": mask[:, 0], "attention_mask": mask},
        {},
    ):
        want = layer(query, value, **kwargs)
        got = lowered_call(target)(layer, query, value, **kwargs)
        close(got, want)


def test_keep_factors_are_merge_masks_in_float():
    rng = np.random.default_rng(2)
    query = random((2, 3, 4))
    padding = rng.random((2, 5)) > 0.3
    attention = rng.random((2, 3, 5)) > 0.3
    implicit_query = rng.random((2, 3)) > 0.3
    for kwargs in (
        {"padding_mask": padding},
        {"attention_mask": attention},
        {"padding_mask": padding, "attention_mask": attention},
        {"query_mask": implicit_query, "key_mask": padding},
        {"padding_mask": padding, "query_mask": implicit_query},
    ):
        want = np.asarray(merge_masks(query, 5, **kwargs))  # (B|1, T|1, S)
        got = np.asarray(_attention_forms.keep_factors(query, 5, **kwargs))
        assert got.ndim == 4 and got.shape[1] == 1
        np.testing.assert_array_equal(
            np.broadcast_to(got[:, 0], (2, 3, 5)),
            np.broadcast_to(want, (2, 3, 5)).astype("float32"),
        )
    causal = _attention_forms.keep_factors(query, 3, use_causal_mask=True)
    np.testing.assert_array_equal(
        np.asarray(causal)[0, 0], np.tril(np.ones((3, 3)))
    )
    assert _attention_forms.keep_factors(query, 5) is None


def test_float_mask_fill_fits_float16():
    # The GPU accelerator runs float16 by default: a fill past 65504
    # becomes -inf there, and -inf * 0 is NaN.
    assert np.isfinite(np.float16(_attention_forms.MASK_FILL))
    scores = np.float16([[30000.0, -30000.0, 0.0]])
    keep = np.float16([[1.0, 0.0, 0.0]])
    weights = np.asarray(_attention_forms.softmax_float(scores, keep))
    assert np.all(np.isfinite(weights))
    np.testing.assert_array_equal(weights, [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("normalize_first", [False, True])
def test_encoder_form_matches_the_layer(target, normalize_first):
    block = layers.TransformerEncoder(
        intermediate_dim=12,
        num_heads=2,
        activation="gelu",
        normalize_first=normalize_first,
    )
    x = random((3, 5, 8), 2.0)
    block(x)
    randomize(block)
    mask = np.arange(5)[None, :] < np.array([[5], [2], [0]])
    for kwargs in (
        {"padding_mask": mask},
        {"attention_mask": mask[:, None].repeat(5, 1)},
        {},
    ):
        close(lowered_call(target)(block, x, **kwargs), block(x, **kwargs))
    got, scores = lowered_call(target)(
        block, x, padding_mask=mask, return_attention_scores=True
    )
    want, want_scores = block(
        x, padding_mask=mask, return_attention_scores=True
    )
    close(got, want)
    close(scores, want_scores, atol=1e-6)


def test_encoder_form_under_mixed_float16():
    keras.config.set_dtype_policy("mixed_float16")
    block = layers.TransformerEncoder(intermediate_dim=12, num_heads=2)
    x = random((2, 4, 8), 3.0)
    block(x)
    mask = np.array([[1, 1, 1, 0], [0, 0, 0, 0]], bool)
    want = np.asarray(keras.ops.cast(block(x, padding_mask=mask), "float32"))
    got = lowered_call("float")(block, x, padding_mask=mask)
    assert keras.backend.standardize_dtype(got.dtype) == "float16"
    close(keras.ops.cast(got, "float32"), want, atol=2e-2)


@pytest.mark.parametrize("shape", [(2, 5), (7,), (1, 1), (2, 3, 4)])
def test_token_embedding_form_is_a_flat_gather(shape):
    table = layers.TokenEmbedding(11, 4)
    ids = np.random.default_rng(3).integers(0, 11, size=shape)
    want = table(ids)
    got = lowered_call("float")(table, ids)
    assert tuple(got.shape) == shape + (4,)
    close(got, want, atol=0)
    # Reverse projection (tied logits) is the layer's own.
    vectors = random((2, 3, 4))
    close(
        lowered_call("float")(table, vectors, reverse=True),
        table(vectors, reverse=True),
        atol=0,
    )


@pytest.mark.parametrize("target", TARGETS)
def test_bert_embedding_form_matches_the_layer(target):
    embedding = layers.BertEmbedding(
        vocabulary_size=20, hidden_dim=8, max_sequence_length=10
    )
    ids = np.random.default_rng(4).integers(0, 20, size=(2, 6))
    segments = (ids % 2).astype("int32")
    want = embedding(ids, segments)
    close(lowered_call(target)(embedding, ids, segments), want)
    close(lowered_call(target)(embedding, ids), embedding(ids))


def test_pooler_form_takes_the_first_position():
    pooler = layers.BertPooler()
    x = random((3, 4, 6))
    want = pooler(x)
    close(lowered_call("float")(pooler, x), want, atol=0)


@pytest.mark.parametrize(
    "key",
    [
        (slice(None), 0),
        (slice(None), -1),
        (slice(None), 2, slice(1, 3)),
        (0,),
        (slice(None), slice(1, 3)),
        (Ellipsis, 0),
    ],
    ids=["first", "last", "middle", "batch", "range", "ellipsis"],
)
def test_getitem_form_picks_without_shrinking(key):
    x = random((2, 4, 5))
    operation = keras.src.ops.numpy.GetItem()
    want = x[key]
    got = _forms.getitem(None, operation, keras.ops.convert_to_tensor(x), key)
    close(got, want, atol=0)


def test_layer_norm_integer_form_keeps_its_results():
    layer = keras.layers.LayerNormalization(epsilon=1e-6)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 16)).astype("float32")
    x[..., 3] *= 60.0  # an outlier channel, as BERT's residual stream has
    layer.build(x.shape)
    layer.set_weights([1.0 + rng.standard_normal(16), rng.standard_normal(16)])
    call = lowered_call("int8")
    close(call(layer, x), layer(x))
    # Other axes than the last are left to Keras's own call.
    across_time = keras.layers.LayerNormalization(axis=1)
    close(call(across_time, x), across_time(x), atol=0)
    # Nothing of Keras was replaced.
    assert keras.layers.LayerNormalization.call.__module__.startswith("keras")


def test_mean_square_is_each_tokens_mean_of_squares():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 16)).astype("float32")
    x[0, 0] *= 20.0  # one token far wider than the rest
    want = np.mean(x.astype("float64") ** 2, axis=-1, keepdims=True)
    close(_attention_forms.mean_square(x), want, atol=0, rtol=1e-6)
    # A pick adds the squares of the picked, weighted channels.
    pick = np.zeros((16, 2), "float32")
    pick[3, 0], pick[9, 1] = 2.0, 0.5
    extra = (4.0 * x[..., 3:4] ** 2 + 0.25 * x[..., 9:10] ** 2) / 16
    close(
        _attention_forms.mean_square(x, pick), want + extra, atol=0, rtol=1e-6
    )


def test_normalized_in_two_rounds_is_one_rsqrt():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 16)).astype("float32")
    x[0, 0] *= 18.0  # mean square near 320 where the others are near 1
    x[1, 2] = 0.0  # a token of zeros: no NaN or inf
    centered = x - x.mean(-1, keepdims=True)
    eps = 1e-6
    n, r = _attention_forms.normalized(centered, eps)
    n, r = np.asarray(n), np.asarray(r)
    variance = np.mean(centered.astype("float64") ** 2, -1, keepdims=True)
    close(n * r, centered / np.sqrt(variance + eps), atol=0, rtol=1e-5)
    assert np.all(np.isfinite(n)) and np.all(np.isfinite(r))
    # The second round's mean squares span a far narrower range than the
    # first's (which is why int8 keeps them), and stay under 16/17.
    first = variance[..., 0]
    second = np.mean(n.astype("float64") ** 2, -1)
    real = first > 0
    assert second[real].max() <= 16 / 17 + 1e-6
    spread = second[real].max() / second[real].min()
    assert spread < first[real].max() / first[real].min() / 10, spread


def small_bert(vocabulary=50):
    return models.bert_backbone(
        num_layers=2,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        vocabulary_size=vocabulary,
        max_sequence_length=16,
    )


def bert_batches(model, count=3, length=12):
    specs = _specs.input_specs(model, 2, length)
    return _specs.sample_inputs(model, specs, count=count)


def every_model():
    backbone = small_bert()
    yield "backbone", backbone
    yield "classifier", models.bert_text_classifier(backbone, 3)
    yield (
        "mean classifier",
        models.bert_text_classifier(backbone, 2, pooling="mean"),
    )
    yield "embedder", models.bert_sentence_embedder(backbone)
    yield "masked lm", models.bert_masked_lm(backbone)
    yield "vit", models.vit_classifier(4, "vit_digits", num_layers=2)
    yield (
        "vit mean",
        models.vit_classifier(4, "vit_digits", num_layers=1, pooling="mean"),
    )


@pytest.mark.parametrize("target", TARGETS)
def test_lowered_models_compute_what_the_models_compute(target):
    for name, model in every_model():
        lowered = lowering.lower(model, target)
        assert lowered is not model, name
        # Same weights, not copies.
        assert {id(w) for w in lowered.weights} <= {
            id(w) for w in model.weights
        }
        specs = _specs.input_specs(model, 2, 12)
        for batch in _specs.sample_inputs(model, specs, count=2):
            close(
                _specs.call_model(lowered, batch, _specs.output_names(model)),
                _specs.call_model(model, batch),
            )


def test_models_without_lowered_layers_are_kept_as_they_are():
    inputs = keras.Input((4,), name="x")
    dense = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert lowering.lower(dense, "float") is dense

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    plain = Subclassed()
    assert lowering.lower(plain, "float") is plain


def test_unknown_target_is_refused():
    with pytest.raises(ValueError, match="`target` must be one of"):
        lowering.Lowering("gpu16")


@pytest.mark.parametrize("class_token", [True, False])
def test_patch_embedding_form_pads_in_the_class_token(class_token):
    embedding = layers.PatchEmbedding(
        image_size=8, patch_size=4, hidden_dim=6, use_class_token=class_token
    )
    images = random((2, 8, 8, 3))
    embedding(images)  # builds it
    randomize(embedding)
    want = embedding(images)
    close(lowered_call("float")(embedding, images), want)


@pytest.mark.parametrize("batch", [1, 3])
def test_masked_lm_head_form_gathers_positions_in_one_dimension(batch):
    model = models.bert_masked_lm(small_bert())
    head = next(
        layer
        for layer in model.layers
        if isinstance(layer, models.MaskedLMHead)
    )
    x = random((batch, 12, 16))
    positions = np.random.default_rng(batch).integers(0, 12, (batch, 4))
    want = head(x, positions)
    close(lowered_call("float")(head, x, positions), want)


def test_a_nested_model_as_the_output_keeps_its_name_in_the_file(tmp_path):
    # The lowered copy of the nested classifier is named
    # "vit_classifier_lowered"; the file's output keeps the model's name.
    from keras_attn.export import to_tflite

    images = keras.Input((8, 8, 1), name="images")
    inner = models.vit_classifier(3, "vit_digits", num_layers=1)
    model = keras.Model(images, inner(images))
    report = to_tflite(
        model, tmp_path / "nested.tflite", measure_latency=False, num_samples=1
    )
    assert list(report.outputs) == [inner.name]
    assert report.max_abs_diff[inner.name] < 1e-5
