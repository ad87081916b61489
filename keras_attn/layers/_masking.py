"""Mask helpers shared by the attention layers (private).

Convention (DESIGN.md): masks are booleans and True means "may attend".
`padding_mask` is `(batch, key_length)`, `attention_mask` is
`(batch, query_length, key_length)`. An explicit mask wins over the Keras
implicit masks carried on the inputs.
"""

from keras import ops


def _shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def check_mask_shape(name, mask, expected):
    """Raises ValueError if `mask`'s static shape cannot match `expected`.

    `expected` is a tuple with `None` for dimensions that are not known.
    A batch dimension of 1 in the mask broadcasts.
    """
    shape = tuple(mask.shape)
    if len(shape) != len(expected):
        raise ValueError(
            f"`{name}` must have rank {len(expected)} with shape "
            f"{_shape_str(expected)}; received a mask of shape "
            f"{_shape_str(shape)}."
        )
    for axis, (got, want) in enumerate(zip(shape, expected, strict=True)):
        if got is None or want is None or got == want:
            continue
        if axis == 0 and got == 1:
            continue
        raise ValueError(
            f"`{name}` of shape {_shape_str(shape)} does not broadcast to "
            f"the expected shape {_shape_str(expected)}."
        )


def causal_mask(query_length, key_length, start_index=0):
    """Boolean `(1, query_length, key_length)` lower-triangular mask.

    Query `i` sits at absolute position `start_index + i` and may attend to
    keys `j <= start_index + i` (the cached-decoding case when
    `start_index > 0`). `start_index` may be a tensor.
    """
    rows = ops.arange(query_length, dtype="int32")
    rows = rows + ops.cast(start_index, "int32")
    cols = ops.arange(key_length, dtype="int32")
    return ops.expand_dims(rows[:, None] >= cols[None, :], axis=0)


def merge_masks(
    query,
    key_length,
    *,
    padding_mask=None,
    attention_mask=None,
    query_mask=None,
    key_mask=None,
    use_causal_mask=False,
    causal_start_index=0,
):
    """Merges every mask source into one boolean `(batch|1, T, S)` or None.

    Args:
        query: the query tensor, `(batch, T, ...)`.
        key_length: `S`, the number of keys (an int or a scalar tensor).
        padding_mask: explicit `(batch, S)` mask over keys.
        attention_mask: explicit `(batch, T, S)` mask.
        query_mask: implicit Keras mask of the query, `(batch, T)`.
        key_mask: implicit Keras mask of the keys/values, `(batch, S)`.
        use_causal_mask: also apply a causal mask.
        causal_start_index: absolute position of the first query (cache).

    The implicit masks are used only when neither explicit mask is given.
    """
    query_length = query.shape[1]
    if query_length is None:
        query_length = ops.shape(query)[1]
    static_key_length = key_length if isinstance(key_length, int) else None
    static_query_length = query.shape[1]
    batch = query.shape[0]

    masks = []
    if padding_mask is not None or attention_mask is not None:
        if padding_mask is not None:
            check_mask_shape(
                "padding_mask", padding_mask, (batch, static_key_length)
            )
            masks.append(ops.cast(padding_mask, "bool")[:, None, :])
        if attention_mask is not None:
            check_mask_shape(
                "attention_mask",
                attention_mask,
                (batch, static_query_length, static_key_length),
            )
            masks.append(ops.cast(attention_mask, "bool"))
    else:
        if query_mask is not None:
            masks.append(ops.cast(query_mask, "bool")[:, :, None])
        if key_mask is not None:
            masks.append(ops.cast(key_mask, "bool")[:, None, :])
    if use_causal_mask:
        masks.append(causal_mask(query_length, key_length, causal_start_index))
    if not masks:
        return None
    mask = masks[0]
    for other in masks[1:]:
        mask = ops.logical_and(mask, other)
    return mask


def masked_softmax(scores, mask):
    """Softmax over the last axis that gives exact zeros where masked.

    `mask` is boolean and broadcasts to `scores`, or None. A row with no
    True entry gives all zeros (not NaN, not a uniform average). No fill
    constant is used: the row maximum is taken over the allowed entries
    only, so the result is exactly the softmax over the allowed keys and is
    safe in float16.
    """
    if mask is None:
        return ops.softmax(scores, axis=-1)
    mask = ops.broadcast_to(mask, ops.shape(scores))
    row_min = ops.min(scores, axis=-1, keepdims=True)
    row_max = ops.max(ops.where(mask, scores, row_min), axis=-1, keepdims=True)
    row_max = ops.stop_gradient(row_max)
    # Allowed entries are <= 0 after the shift; masked ones become 0 and
    # are zeroed after the exp, so nothing can overflow.
    shifted = ops.where(mask, scores - row_max, ops.zeros_like(scores))
    weights = ops.exp(shifted) * ops.cast(mask, scores.dtype)
    # A row with an allowed entry sums to >= 1 (its maximum gives exp(0));
    # a fully masked row sums to 0 and stays 0.
    total = ops.sum(weights, axis=-1, keepdims=True)
    return weights / ops.maximum(total, ops.ones_like(total))
