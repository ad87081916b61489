"""Converting keras-hub backbones into keras_attn models with their weights.

One table, keras-hub class name -> converter; each family's converter
lives in its folder (`bert/keras_hub_conversion.py`,
`vit/keras_hub_conversion.py`).
"""

from keras_attn.models.bert.keras_hub_conversion import bert_from_keras_hub
from keras_attn.models.vit.keras_hub_conversion import vit_from_keras_hub

_CONVERTERS = {
    "BertBackbone": bert_from_keras_hub,
    "ViTBackbone": vit_from_keras_hub,
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
