"""The lowered forms: what keras_attn layers compute, written the way a
`.tflite` target runs it (private). Embeddings and picking positions are
here; attention, layer norm and the Transformer blocks are in
`_attention_forms.py`.

Each function takes `(lower, layer, *call arguments)` and returns what
`layer(*call arguments)` returns at inference, to float rounding
(`tests/export/test_lowering.py` checks every one against the layer's
own call). `lower` is the exporter's per-call context
(`export.lowering`): `lower.call(sublayer, ...)` calls a sublayer in its
own lowered form, `lower.target` names the table, and
`lower.residual_scales(block)` / `lower.observe(block, tensor)` serve
full-int8 calibration.

What the forms avoid, and why (measured with LiteRT 2.3's GPU
accelerator, Qualcomm's NPU compiler and the CPU interpreter):

- id lookups GATHER with 1-D indices (the GPU accelerator refuses 2-D
  ones), and carry no `Assert` (not a builtin; LiteRT's GATHER checks ids
  itself and `invoke` raises on a bad one);
- masks become float keep-factors (1 may attend, 0 not) reshaped to rank
  4 before use: no boolean strided slices (refused by the NPU), no
  SELECT_V2 (refused by the GPU for non-float conditions);
- masked attention scores get `MASK_FILL`, inside float16's range: the GPU
  runs float16 by default, where Keras's fill of about -2.4e38 becomes
  -inf and `0 * inf` gives NaN;
- picking one position (`x[:, 0]`) is a slice that keeps the axis and a
  reshape: the GPU refuses strided slices with `shrink_axis_mask`.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_attn.layers.log_mel_spectrogram import periodic_hann


def shape_of(x):
    """`x`'s shape as a list of ints where known, else tensor entries."""
    dynamic = tf.shape(x)
    return [
        size if size is not None else dynamic[axis]
        for axis, size in enumerate(x.shape)
    ]


def last_axis_only(layer, inputs):
    """Whether a normalization `layer` normalizes `inputs` over their last
    axis alone (the case the lowered layer norms compute)."""
    axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    rank = len(inputs.shape)
    return [a % rank for a in axis] == [rank - 1]


def reshape(x, shape):
    if all(isinstance(size, int) for size in shape):
        return tf.reshape(x, shape)
    return tf.reshape(x, tf.stack(shape))


# --- ids ----------------------------------------------------------------


def gather_rows(table, ids):
    """Rows of `table` (V, D) for integer `ids` of any shape, as
    `ids.shape + (D,)`: one GATHER with 1-D indices, on the table seen as
    `(1, V, D)` along axis 1, so the rows come out as `(1, N, D)`.

    Gathering from `(V, D)` would give `(N, D)`, and for batch 1 the
    converter drops the reshape back to `(1, N, D)`: the position
    table's ADD then pairs a `(N, D)` tensor with a `(1, N, D)`
    constant, which LiteRT's GPU accelerator computes wrongly without a
    word (LiteRT 2.3).
    """
    flat = tf.reshape(ids, [-1])  # (N,)
    rows = tf.gather(table[None], flat, axis=1)  # (1, N, D)
    if len(ids.shape) == 2 and ids.shape[0] == 1:
        return rows  # already (1, T, D)
    return reshape(rows, shape_of(ids) + [table.shape[-1]])


def token_embedding(lower, layer, inputs, reverse=False):
    """`TokenEmbedding`: a plain 1-D GATHER, no id check in the graph."""
    if reverse:
        return layer(inputs, reverse=True)
    ids = tf.convert_to_tensor(inputs)
    if layer.quantization_mode is not None:
        # Keras's quantized lookup, without our graph-side id check.
        return keras.layers.ReversibleEmbedding.call(layer, ids)
    table = ops.convert_to_tensor(layer.embeddings)
    return ops.cast(gather_rows(table, ids), layer.compute_dtype)


def bert_embedding(
    lower, layer, token_ids, segment_ids=None, start_index=0, training=None
):
    """`BertEmbedding` with its lookups and layer norm lowered (no
    dropout: export is inference)."""
    x = lower.call(layer.token_embedding, token_ids)  # (B, T, D)
    if layer.segment_embedding is not None:
        if segment_ids is None:
            segment_ids = tf.zeros_like(token_ids)
        x = x + lower.call(layer.segment_embedding, segment_ids)
    x = x + lower.call(layer.position_embedding, x, start_index=start_index)
    return lower.call(layer.layer_norm, x)  # (B, T, D)


def patch_embedding(lower, layer, images):
    """`PatchEmbedding` with the class token put in by a PAD and an ADD:
    the patches get a zero row in front, and one constant holds the class
    token plus its position in that row and the patches' positions in the
    others (folded by the converter). The layer concatenates the token
    instead, and in a float16-weight file LiteRT's GPU accelerator fails
    to build that CONCATENATION's shader in float32 mode (LiteRT 2.3)."""
    grid = layer._grid_for(images.shape)
    x = lower.call(layer.projection, images)  # (B, rows, cols, D)
    x = tf.reshape(x, [-1, grid[0] * grid[1], layer.hidden_dim])  # (B, P, D)
    positions = ops.cast(layer._positions(grid), x.dtype)  # (P [+ 1], D)
    if layer.use_class_token:
        x = tf.pad(x, [[0, 0], [1, 0], [0, 0]])  # (B, 1 + P, D)
        token = ops.cast(layer.class_token, x.dtype)[None]  # (1, D)
        positions = tf.concat([positions[:1] + token, positions[1:]], 0)
    return x + positions[None]  # (B, [1 +] P, D)


# --- picking positions -------------------------------------------------


def pooler(lower, layer, inputs):
    """`BertPooler`: the first position kept as a `(B, 1, D)` slice, then
    reshaped to `(B, D)`, so no strided slice shrinks an axis."""
    first = pick(inputs, axis=1, index=0)  # (B, D)
    return lower.call(layer.dense, first)


def pick(x, axis, index):
    """`x` at `index` along `axis`, that axis removed: a SLICE that keeps
    the axis, then a RESHAPE (no `shrink_axis_mask`)."""
    shape = shape_of(x)
    begin = [0] * len(shape)
    size = [-1] * len(shape)
    begin[axis] = index
    size[axis] = 1
    piece = tf.slice(x, begin, size)
    return reshape(piece, shape[:axis] + shape[axis + 1 :])


def getitem(lower, operation, x, key):
    """`x[key]` nodes of a functional graph (`x[:, 0]`): integer indices
    become `pick`s; anything else is Keras's own indexing."""
    parts = key if isinstance(key, tuple) else (key,)
    if Ellipsis in parts or any(
        not isinstance(part, (int, slice)) for part in parts
    ):
        return operation(x, key)
    ranges = tuple(
        slice(None) if isinstance(part, int) else part for part in parts
    )
    whole = slice(None)
    sliced = x if all(part == whole for part in ranges) else x[ranges]
    removed = 0
    for axis, part in enumerate(parts):
        if isinstance(part, int):
            index = part % x.shape[axis] if x.shape[axis] else part
            if index < 0:
                return operation(x, key)
            sliced = pick(sliced, axis - removed, index)
            removed += 1
    return sliced


def gather_positions(x, positions):
    """`x[b, positions[b, m]]` for `x` (B, T, D) and int `positions`
    (B, M), as one GATHER with 1-D indices along axis 1 of `x` seen as
    `(1, B * T, D)` (Keras's `take_along_axis` traces int64 arithmetic, a
    BROADCAST_TO and a 2-D GATHER, which the GPU refuses)."""
    batch, _, hidden = x.shape
    positions = tf.cast(positions, "int32")
    if batch != 1:
        shape = shape_of(x)
        rows = shape_of(positions)
        offsets = tf.range(shape[0], dtype="int32")[:, None] * shape[1]
        positions = positions + offsets
        x = tf.reshape(x, [1, -1, hidden])
    gathered = tf.gather(x, tf.reshape(positions, [-1]), axis=1)  # (1, BM, D)
    if batch == 1:
        return gathered
    return reshape(gathered, [rows[0], rows[1], hidden])


def word_gather(lower, layer, inputs, word_starts):
    """`WordGather`: the positions clipped into the row (MAXIMUM, MINIMUM)
    and picked by `gather_positions`, one GATHER with 1-D indices that
    gives `(1, W, D)` for batch 1. The layer's `ops.take` traces Keras's
    negative-index wrap-around (LESS, SELECT on a boolean condition, an
    ADD), which the clip makes moot, and a `(T, D)` gather whose reshape
    back to three axes the converter drops."""
    length = shape_of(inputs)[1]
    starts = tf.cast(word_starts, "int32")
    starts = tf.minimum(tf.maximum(starts, 0), length - 1)  # (B, W)
    return gather_positions(inputs, starts)  # (B, W, D)


def masked_lm_head(lower, layer, inputs, mask_positions):
    """`MaskedLMHead`: the masked positions picked by `gather_positions`,
    then the head's own dense, layer norm and (tied) projection."""
    x = gather_positions(inputs, mask_positions)  # (B, M, H)
    x = lower.call(layer.dense, x)  # (B, M, D)
    x = lower.call(layer.layer_norm, x)
    if layer.token_embedding is not None:
        table = ops.cast(layer.token_embedding.embeddings, x.dtype)
        logits = ops.matmul(x, ops.transpose(table))  # (B, M, V)
    else:
        logits = ops.matmul(x, ops.cast(layer.output_kernel, x.dtype))
    return logits + ops.cast(layer.output_bias, x.dtype)


# --- sound ----------------------------------------------------------------


def _power_of_two_below(value):
    return 2.0 ** math.floor(math.log2(value))


def log_mel_constants(layer):
    """The constants of `log_mel_spectrogram` for a `LogMelSpectrogram`
    (float64 NumPy and Python floats):

    - `gain`, a power of two: the DFT kernel times `gain`, so that the
      convolution's sums reach at most 2^15 for samples in [-1, 1] and a
      quiet clip's sums stay well inside float16's normal range (a frame
      of 1e-4 noise sums to about 0.1, not 1e-3);
    - `headroom`, a power of two: a frame's scale is
      `gain * sum(window * |x|) / headroom`, which bounds each scaled DFT
      value by `headroom` and their squares over all bins by
      `bins * headroom^2 <= 2^14` (Parseval);
    - `kernel`, `window` (for the `|x|` convolution), `mel` (the filter
      bank stacked twice, for the real and the imaginary halves);
    - `root_offset`, `gain * sqrt(log_offset)`, and `least_scale`, the
      scale's floor: at least `root_offset / 128`, so that
      `(root_offset / scale)^2 <= 2^14`, and at least 2^-10, so that
      `1 / scale <= 2^10`.
    """
    kernel = layer.dft_kernel()  # (L, 1, 2 * bins)
    window = periodic_hann(layer.frame_length)
    bins = layer.num_spectrogram_bins
    gain = _power_of_two_below(2.0**15 / np.abs(kernel).sum(axis=0).max())
    headroom = _power_of_two_below(math.sqrt(2.0**14 / bins))
    mel = layer.mel_matrix()
    root_offset = gain * math.sqrt(layer.log_offset)
    return {
        "gain": gain,
        "headroom": headroom,
        "kernel": kernel * gain,
        "window": (window * gain / headroom)[:, None, None],
        "mel": np.concatenate([mel, mel], axis=0),  # (2 * bins, mels)
        "root_offset": root_offset,
        "least_scale": max(root_offset / 128.0, 2.0**-10),
    }


def log_mel_spectrogram(lower, layer, inputs):
    """`LogMelSpectrogram` with every tensor inside float16's normal
    range, for LiteRT's GPU accelerator, which computes in float16 by
    default (largest 65504, smallest normal 6.1e-5; phone GPUs may flush
    smaller values to 0).

    The layer's power spectrum reaches 40,000 for a full-scale frame of
    400 samples (65,536 for 512: inf in float16), and `log_offset` (1e-6)
    and a quiet clip's powers lie below float16's normal range. Here each
    frame is scaled first and the scale undone after the log, exactly:

        log(mel + offset) = log(mel * r^2 + offset * r^2) - 2 log(r)

    for any `r > 0`. Here `r = 1 / scale` with `scale` the frame's
    `sum(window * |x|)` (a second, one-channel convolution, on `|x|`),
    which bounds every DFT value of the frame: the scaled values lie in
    [-headroom, headroom] and their mel sums below 2^14 whatever the
    frame's loudness. `scale` is floored (`least_scale`) so that
    `offset * r^2` stays below 2^14: silence gives `log(log_offset)`.
    `r` is `rsqrt(scale)^2` (Qualcomm's compiler for SM8350 cannot build
    a DIV here); the identity holds for whatever `r` that rounds to, as
    the same `r` is used throughout. The kernels carry a power-of-two
    gain so that the convolutions of near-silent clips sum to normal
    numbers, and the result is clamped at `log(log_offset)`, which the
    exact value never lies below (where a GPU flushes a loud frame's
    `offset * r^2` to 0 and a band to 0, the clamp gives the exact value
    instead of `log(0)`). Scaling by powers of two is exact; the
    products and the stacked mel product (`(re^2, im^2) @ [mel; mel]`, no
    slices) round as float32 does.

    What float16 cannot give: the GPU's convolution accumulates in
    float16, so bands far below the frame's loudest band carry its
    rounding (next to a pure full-scale tone, bands near
    `log(log_offset)` come out several units too high, as with Keras's
    STFTSpectrogram). Bands within 40 dB of their frame's loudest, quiet
    clips and silence stay within about 0.05 of float32
    (`benchmarks/audio_front_end.py`).
    """
    constants = log_mel_constants(layer)
    x = ops.cast(inputs, "float32")[:, :, None]  # (B, S, 1)
    strides = layer.frame_step
    spectrum = ops.conv(
        x, constants["kernel"].astype("float32"), strides, "valid"
    )  # (B, F, 2 * bins): DFT * gain
    scale = ops.conv(
        ops.abs(x), constants["window"].astype("float32"), strides, "valid"
    )  # (B, F, 1): sum(window * |x|) * gain / headroom
    root = ops.rsqrt(ops.maximum(scale, constants["least_scale"]))
    ratio = root * root  # (B, F, 1): r, about 1 / scale
    scaled = spectrum * ratio  # (B, F, 2 * bins), |values| <= headroom
    mel = ops.matmul(
        scaled * scaled, constants["mel"].astype("float32")
    )  # (B, F, mels): mel power * (gain * r)^2
    offset = constants["root_offset"] * ratio  # (B, F, 1)
    log_mel = (
        ops.log(mel + offset * offset)
        - 2.0 * ops.log(ratio)
        - 2.0 * math.log(constants["gain"])
    )
    log_mel = ops.maximum(log_mel, math.log(layer.log_offset))
    return ops.cast(log_mel, layer.compute_dtype)  # (B, F, mels)
