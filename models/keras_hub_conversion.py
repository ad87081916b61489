"""Converting keras-hub backbones into keras_attn models with their weights."""

from keras_attn.models._common import assign
from keras_attn.models.bert import bert_backbone
from keras_attn.models.vit import vit_backbone


def _copy_layer(target, source):
    """Copies every weight of keras layer `source` into `target`, in order."""
    targets, sources = target.weights, source.weights
    if len(targets) != len(sources):
        raise ValueError(
            f"{source.name} has {len(sources)} weights and {target.name} "
            f"has {len(targets)}; cannot copy one into the other."
        )
    for variable, weight in zip(targets, sources, strict=True):
        assign(variable, weight.numpy(), weight.path)


def _bert_from_keras_hub(backbone):
    config = backbone.get_config()
    model = bert_backbone(
        vocabulary_size=config["vocabulary_size"],
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["intermediate_dim"],
        dropout=config["dropout"],
        max_sequence_length=config["max_sequence_length"],
        num_segments=config["num_segments"],
        # keras-hub's BERT uses the tanh approximation of GELU (as Google's
        # original BERT code did); Hugging Face checkpoints use the exact one.
        activation="gelu_approximate",
        name=backbone.name,
    )
    embeddings = model.get_layer("embeddings")
    for ours, theirs in (
        (embeddings.token_embedding, "token_embedding"),
        (embeddings.segment_embedding, "segment_embedding"),
        (embeddings.position_embedding, "position_embedding"),
        (embeddings.layer_norm, "embeddings_layer_norm"),
    ):
        _copy_layer(ours, backbone.get_layer(theirs))
    for index in range(config["num_layers"]):
        name = f"transformer_layer_{index}"
        # Same sublayers in the same order (tests/layers checks the order).
        _copy_layer(model.get_layer(name), backbone.get_layer(name))
    pooler = model.get_layer("pooler").dense
    _copy_layer(pooler, backbone.get_layer("pooled_dense"))
    return model


def _vit_from_keras_hub(backbone):
    config = backbone.get_config()
    height, width, channels = config["image_shape"]
    patch = config["patch_size"]
    if height != width or (
        isinstance(patch, (list, tuple)) and len(set(patch)) > 1
    ):
        raise ValueError(
            "from_keras_hub converts square ViTs; received image_shape "
            f"{config['image_shape']} and patch_size {patch}."
        )
    if not (config["use_mha_bias"] and config["use_mlp_bias"]):
        raise ValueError(
            "from_keras_hub converts ViTs with attention and MLP biases; "
            f"received use_mha_bias={config['use_mha_bias']}, "
            f"use_mlp_bias={config['use_mlp_bias']}."
        )
    model = vit_backbone(
        image_size=height,
        patch_size=patch if isinstance(patch, int) else patch[0],
        channels=channels,
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        intermediate_dim=config["mlp_dim"],
        dropout=config["dropout_rate"],
        layer_norm_epsilon=config["layer_norm_epsilon"],
        pooling="class_token" if config["use_class_token"] else "mean",
        name=backbone.name,
    )
    source = backbone.get_layer("vit_patching_and_embedding")
    patches = model.get_layer("patch_embedding")
    _copy_layer(patches.projection, source.patch_embedding)
    assign(
        patches.position_embeddings,
        source.position_embedding.embeddings.numpy(),
        source.position_embedding.embeddings.path,
    )
    if config["use_class_token"]:
        token = source.class_token
        assign(patches.class_token, token.numpy().reshape(-1), token.path)
    encoder = backbone.get_layer("vit_encoder")
    for index, block in enumerate(encoder.encoder_layers):
        ours = model.get_layer(f"transformer_layer_{index}")
        for target, theirs in (
            (ours.self_attention_layer_norm, block.layer_norm_1),
            (ours.self_attention, block.mha),
            (ours.feedforward_layer_norm, block.layer_norm_2),
            (ours.feedforward_intermediate_dense, block.mlp.dense_1),
            (ours.feedforward_output_dense, block.mlp.dense_2),
        ):
            _copy_layer(target, theirs)
    _copy_layer(model.get_layer("final_layer_norm"), encoder.layer_norm)
    return model


_CONVERTERS = {
    "BertBackbone": _bert_from_keras_hub,
    "ViTBackbone": _vit_from_keras_hub,
}


def from_keras_hub(backbone):
    """A keras_attn model equal to a keras-hub backbone, weights included.

    Supported: `keras_hub.models.BertBackbone` (to `bert_backbone`) and
    `keras_hub.models.ViTBackbone` (square images, to `vit_backbone`), and
    subclasses that keep their layer names. The result has the same inputs
    and outputs, equal within float32 rounding.

    Args:
        backbone: a built keras-hub backbone.

    Returns:
        keras.Model.

    Example:

    >>> import keras_hub, numpy as np
    >>> hub = keras_hub.models.BertBackbone(
    ...     vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=6)
    >>> ours = from_keras_hub(hub)
    >>> ids = np.array([[2, 5, 7, 0]], "int32")
    >>> inputs = {"token_ids": ids, "segment_ids": 0 * ids,
    ...           "padding_mask": (ids != 0).astype("int32")}
    >>> diff = ours(inputs)["sequence_output"] - hub(inputs)["sequence_output"]
    >>> bool(np.max(np.abs(np.asarray(diff))) < 1e-5)
    True
    """
    for cls in type(backbone).__mro__:
        if cls.__name__ in _CONVERTERS:
            return _CONVERTERS[cls.__name__](backbone)
    raise ValueError(
        "from_keras_hub converts "
        f"{', '.join(sorted(_CONVERTERS))}; received a "
        f"{type(backbone).__name__}."
    )
