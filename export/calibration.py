"""What full-int8 export measures on the calibration rows before it
traces the model: the residual scales of post-norm Transformer blocks,
the divisors of their attention norm outputs, and the wide hidden
channels of every block's feed-forward layer.

The model runs re-traced by `lowering.observer`, which returns each
post-norm block's feed-forward residual sum and attention norm output and
each block's feed-forward hidden activations beside the outputs (the same
graph re-run the export uses, not a flag inside the layers).
"""

import numpy as np

from keras_attn.export import _specs
from keras_attn.export import lowering

# A channel is divided down when its largest magnitude is over this many
# times the 90th percentile of the channels' largest magnitudes; the
# scale brings it back to that percentile.
WIDE_CHANNEL_RATIO = 2.0


def _channel_ranges(model, batches, chunk):
    """`{(block, kind): largest magnitude per channel}` of what the
    observer returns on `batches`."""
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
    merged = {}  # a block called twice: its channels' largest of both
    for key, values in largest.items():
        where = (observing.observed_blocks[key], observing.observed_kinds[key])
        merged[where] = np.maximum(merged.get(where, values), values)
    return merged


def _wide(channels):
    """Each channel's largest magnitude over the 90th percentile of all
    channels' largest magnitudes, and whether that is over
    `WIDE_CHANNEL_RATIO`; None when no channel has a magnitude."""
    typical = float(np.percentile(channels, 90))
    if typical <= 0:
        return None
    ratio = channels / typical
    return ratio, ratio > WIDE_CHANNEL_RATIO


def int8_options(model, batches, chunk=32):
    """`{"residual_scales": ..., "hidden_splits": ..., "norm_divisors":
    ...}`: what `lowering.lower` takes for a full-int8 file of `model`,
    from one observing run over `batches` (a list of input dicts of equal
    shapes). Residual scales and norm divisors are a channel's largest
    magnitude over `WIDE_CHANNEL_RATIO`'s percentile where it is wide,
    else 1."""
    scales, splits, divisors = {}, {}, {}
    channel_ranges = _channel_ranges(model, batches, chunk)
    for (block, kind), channels in channel_ranges.items():
        found = _wide(channels)
        if found is None or not found[1].any():
            continue
        ratio, wide = found
        if kind == "residual":
            scales[block] = np.where(wide, ratio, 1.0).astype("float32")
        elif kind == "norm":
            divisors[block] = np.where(wide, ratio, 1.0).astype("float32")
        elif not wide.all():
            splits[block] = wide
    return {
        "residual_scales": scales,
        "hidden_splits": splits,
        "norm_divisors": divisors,
    }


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
    return int8_options(model, batches, chunk)["residual_scales"]


def hidden_splits(model, batches, chunk=32):
    """`{block: wide}` for the Transformer blocks of `model` whose
    feed-forward hidden activations (after the activation function) have
    wide channels on `batches`: a bool per channel, true where its largest
    magnitude is over `WIDE_CHANNEL_RATIO` times the 90th percentile of
    the channels' largest magnitudes.

    An int8 tensor has one scale, so in a hidden tensor whose widest
    channel reaches 24 while most stay under 2 (layer 0 of a fine-tuned
    all-MiniLM-L6-v2), the ordinary channels get a few steps each: on the
    longest SST-2 sentences its signal-to-quantization-noise ratio was
    20 dB as one tensor and 32 dB with its one wide channel apart.
    """
    return int8_options(model, batches, chunk)["hidden_splits"]
