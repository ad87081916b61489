"""What full-int8 export measures on the calibration rows before it
traces the model: the residual scales of post-norm Transformer blocks.

The model runs re-traced by `lowering.observer`, which returns each
post-norm block's feed-forward residual sum beside the outputs (the same
graph re-run the export uses, not a flag inside the layers).
"""

import numpy as np

from keras_attn.export import _specs
from keras_attn.export import lowering

# A channel is divided down when its largest magnitude is over this many
# times the 90th percentile of the channels' largest magnitudes; the
# scale brings it back to that percentile.
WIDE_CHANNEL_RATIO = 2.0


def residual_scales(model, batches, chunk=32):
    """`{block: scales}` for the post-norm Transformer blocks of `model`
    whose feed-forward residual sum has wide channels on `batches` (a
    list of input dicts of equal shapes).

    A channel's scale is its largest magnitude over the 90th percentile
    of all channels' largest magnitudes, if that is over
    `WIDE_CHANNEL_RATIO`, else 1. On a fine-tuned all-MiniLM-L6-v2 the
    channels' largest magnitudes have a 90th percentile near 3 and reach
    220 on one channel (99); 6 to 11 channels per block get a scale.
    """
    observer, observing = lowering.observer(model)
    if observer is None:
        return {}
    largest = {}
    for start in range(0, len(batches), chunk):
        part = batches[start : start + chunk]
        inputs = {
            name: np.concatenate([batch[name] for batch in part])
            for name in part[0]
        }
        found = observer(_specs.model_arguments(model, inputs), training=False)[
            "extras"
        ]
        for key in observer.extra_names:
            values = np.abs(np.asarray(found[key], "float32"))
            values = values.reshape(-1, values.shape[-1]).max(axis=0)
            largest[key] = np.maximum(largest.get(key, values), values)
    scales = {}
    for key, channels in largest.items():
        typical = float(np.percentile(channels, 90))
        if typical <= 0:
            continue
        ratio = channels / typical
        if ratio.max() > WIDE_CHANNEL_RATIO:
            block = observing.observed_blocks[key]
            scales[block] = np.where(
                ratio > WIDE_CHANNEL_RATIO, ratio, 1.0
            ).astype("float32")
    return scales
