"""Attention probabilities out of the models, sharing their weights.

`attention_model(model)` re-traces a model's functional graph on the model's
own inputs, calling the very same (already built) layers, and asks every
attention layer for its probabilities on the way. Nested sub-models (the
backbone inside a classifier) are walked into, so a head on a backbone
works as the backbone itself does.

Which layers give scores, and under which names, is one table:
`_SCORE_HANDLERS` maps a layer class to a function that calls the layer
with `return_attention_scores=True` and returns its usual outputs and a
dict of named scores. A new family of models only needs an entry there
when it uses a new kind of attention block (for example
`TransformerDecoder`, whose self- and cross-attention would come out as two
entries); the graph walk itself is generic (`models/_graph.py`, which
the exporter's lowering shares).
"""

import keras
from keras import ops

from keras_attn import _compat
from keras_attn.layers import TransformerDecoder
from keras_attn.layers import TransformerEncoder
from keras_attn.models import _graph

SUPPORTED_MODELS = (
    "BERT backbones (`bert_backbone`, `load_bert`, `from_keras_hub`) and "
    "the heads built on them (`bert_text_classifier`, "
    "`bert_sentence_embedder`, `bert_masked_lm`); ViT backbones and "
    "classifiers (`vit_backbone`, `vit_classifier`); the translator "
    "(`transformer_translator`); in general any functional Keras "
    "model whose graph, or the graph of a functional sub-model inside it, "
    "calls keras_attn `TransformerEncoder` or `TransformerDecoder` layers"
)


def _encoder_scores(layer, args, kwargs):
    """`TransformerEncoder`: `(outputs, {layer.name: (B, H, T, T)})`."""
    already = kwargs.get("return_attention_scores", False)
    kwargs = {**kwargs, "return_attention_scores": True}
    x, scores = layer(*args, **kwargs)  # (B, T, D), (B, H, T, T)
    outputs = (x, scores) if already else x
    return outputs, {layer.name: scores}


def _decoder_scores(layer, args, kwargs):
    """`TransformerDecoder`: self-attention `(B, H, T, T)` and, when the
    block has it, cross-attention `(B, H, T, S)` under
    `"<name>/self_attention"` and `"<name>/cross_attention"`."""
    if kwargs.get("return_attention_scores", False):
        raise ValueError(
            f"{layer.name} already returns its attention scores in this "
            "graph; call attention_model on a model that does not."
        )
    result = layer(*args, **{**kwargs, "return_attention_scores": True})
    found = {f"{layer.name}/self_attention": result[1]}
    if len(result) > 2:
        found[f"{layer.name}/cross_attention"] = result[2]
    return result[0], found


# Layer class -> handler(layer, args, kwargs) -> (outputs, {name: scores}).
# `outputs` must be what the layer returns in the original graph; the
# handler calls the layer itself, so it sees real tensors at run time.
_SCORE_HANDLERS = {
    TransformerEncoder: _encoder_scores,
    TransformerDecoder: _decoder_scores,
}


def _handler_for(operation):
    for cls, handler in _SCORE_HANDLERS.items():
        if isinstance(operation, cls):
            return handler
    return None


def _attention_model(model):
    """`model` re-traced with every attention layer giving its scores, or
    None when it calls none (see `models._graph`)."""
    traced = _graph.Rerun(_handler_for, name_suffix="with_scores").model(
        model, f"{model.name}_attention"
    )
    if traced is None or not traced.extra_names:
        return None
    result = keras.Model(
        model.input,
        {
            "outputs": traced.output["outputs"],
            "attention_scores": traced.output["extras"],
        },
        name=f"{model.name}_attention",
    )
    result.attention_layer_names = traced.extra_names
    return result


def _describe(model):
    if isinstance(model, keras.Model):
        return f"a {type(model).__name__} model named {model.name!r}"
    return f"an object of type {type(model).__name__}"


def attention_model(model):
    """A model that also returns the attention probabilities of `model`.

    The new model has the same inputs as `model` and calls the same layers,
    so it shares every weight (nothing is copied: training or loading
    weights into one changes the other). Its output is a dict:

    - `"outputs"`: what `model` returns, in the same structure (a tensor, or
      the dict of a backbone), equal to `model`'s output.
    - `"attention_scores"`: a dict from layer name to the attention
      probabilities of that layer, `(batch, num_heads, query, key)`, one
      entry per `TransformerEncoder` in the order they run
      (`"transformer_layer_0"`, `"transformer_layer_1"`, ...). Rows sum to
      one over the keys a query may attend to and are exactly zero on the
      others (padding). A layer called twice gives a second entry named
      `"<name>/call_1"`. A `TransformerDecoder` gives two entries,
      `"<name>/self_attention"` and `"<name>/cross_attention"`
      `(batch, heads, target, source)`.

    The scores are those before attention dropout; with `training=True`
    the outputs use dropout as `model` does. The scores come from the
    explicit softmax path of `MultiHeadAttention` rather than the fused
    kernel `model` uses without scores, so the outputs agree with `model`'s
    to float rounding (about 1e-7 in float32), not always bit for bit.

    The new model is for inspection and export (`model.export`); it is not
    meant to be saved as a `.keras` file: save `model` and call
    `attention_model` again after loading it.

    Supported: BERT backbones (`bert_backbone`, `load_bert`,
    `from_keras_hub`) and the heads built on them (`bert_text_classifier`,
    `bert_sentence_embedder`, `bert_masked_lm`), ViT backbones and
    classifiers (`vit_backbone`, `vit_classifier`), the translator
    (`transformer_translator`), and in general any functional model whose
    graph (or a functional sub-model's graph) calls `TransformerEncoder` or
    `TransformerDecoder` layers.

    Args:
        model: a functional `keras.Model` as above.

    Returns:
        keras.Model with `model`'s inputs and the dict output above.

    Raises:
        ValueError: `model` is not a functional model or calls no
            attention layer that gives scores.

    Example:

    >>> import numpy as np
    >>> from keras_attn.models import attention_model, vit_classifier
    >>> classifier = vit_classifier(10, "vit_digits", num_layers=2)
    >>> explainer = attention_model(classifier)
    >>> out = explainer(np.zeros((1, 8, 8, 1), "float32"))
    >>> tuple(out["outputs"].shape)
    (1, 10)
    >>> scores = out["attention_scores"]
    >>> list(scores), tuple(scores["transformer_layer_1"].shape)
    (['transformer_layer_0', 'transformer_layer_1'], (1, 4, 17, 17))
    """
    if not _compat.is_functional(model):
        raise ValueError(
            f"attention_model supports {SUPPORTED_MODELS}; received "
            f"{_describe(model)}, which is not a functional model."
        )
    result = _attention_model(model)
    if result is None:
        raise ValueError(
            f"attention_model supports {SUPPORTED_MODELS}; received "
            f"{_describe(model)}, whose graph calls no attention layer that "
            "gives scores."
        )
    return result


def attention_maps(model, inputs):
    """The attention probabilities of `model` on `inputs`, as NumPy arrays.

    Builds `attention_model(model)` and runs it once (no dropout). To run
    many batches, build `attention_model` once and call it instead.

    Args:
        model: a model `attention_model` supports, or a model it returned.
        inputs: what `model` takes (a dict of arrays for BERT, an images
            array for ViT).

    Returns:
        dict from layer name to a NumPy array
        `(batch, num_heads, query, key)`, in the order the layers run.

    Example:

    >>> import numpy as np
    >>> from keras_attn.models import attention_maps, bert_backbone
    >>> bert = bert_backbone("bert_tiny", vocabulary_size=50)
    >>> ids = np.array([[2, 7, 9, 3, 0]], "int32")
    >>> maps = attention_maps(bert, {"token_ids": ids,
    ...     "segment_ids": 0 * ids, "padding_mask": ids != 0})
    >>> list(maps), maps["transformer_layer_0"].shape
    (['transformer_layer_0', 'transformer_layer_1'], (1, 2, 5, 5))
    >>> np.round(maps["transformer_layer_0"][0, 0].sum(axis=-1), 5)
    array([1., 1., 1., 1., 1.], dtype=float32)
    """
    if getattr(model, "attention_layer_names", None) is None:
        model = attention_model(model)
    out = model(inputs, training=False)["attention_scores"]
    return {
        name: ops.convert_to_numpy(out[name])
        for name in model.attention_layer_names
    }


__all__ = ["attention_maps", "attention_model"]
