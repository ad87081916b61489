"""keras-hub's `ViTBackbone` converted into `vit_backbone`, weights included."""

from keras_attn.models._common import assign
from keras_attn.models._common import copy_layer
from keras_attn.models.vit.backbone import vit_backbone


def vit_from_keras_hub(backbone):
    """A `vit_backbone` equal to keras-hub `ViTBackbone` `backbone`
    (square images, attention and MLP biases).

    `keras_attn.models.from_keras_hub` calls it for a `ViTBackbone`.

    Example:

    >>> import keras_hub
    >>> hub = keras_hub.models.ViTBackbone(
    ...     image_shape=(8, 8, 1), patch_size=4, num_layers=1, num_heads=2,
    ...     hidden_dim=8, mlp_dim=16)
    >>> vit_from_keras_hub(hub).count_params() == hub.count_params()
    True
    """
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
    copy_layer(patches.projection, source.patch_embedding)
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
            copy_layer(target, theirs)
    copy_layer(model.get_layer("final_layer_norm"), encoder.layer_norm)
    return model
