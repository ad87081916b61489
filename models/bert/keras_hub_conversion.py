"""keras-hub's `BertBackbone` as a `bert_backbone`, weights included."""

from keras_attn.models._common import copy_layer
from keras_attn.models.bert.backbone import bert_backbone


def bert_from_keras_hub(backbone):
    """A `bert_backbone` equal to keras-hub `BertBackbone` `backbone`.

    `keras_attn.models.from_keras_hub` calls it for a `BertBackbone`.

    Example:

    >>> import keras_hub
    >>> hub = keras_hub.models.BertBackbone(
    ...     vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=6)
    >>> bert_from_keras_hub(hub).count_params() == hub.count_params()
    True
    """
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
        copy_layer(ours, backbone.get_layer(theirs))
    for index in range(config["num_layers"]):
        name = f"transformer_layer_{index}"
        # Same sublayers in the same order (tests/layers checks the order).
        copy_layer(model.get_layer(name), backbone.get_layer(name))
    pooler = model.get_layer("pooler").dense
    copy_layer(pooler, backbone.get_layer("pooled_dense"))
    return model
