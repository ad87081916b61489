"""An independent NumPy multi-head attention, and the padding check that
both the layer and its lowered `.tflite` forms are held to."""

import numpy as np
from keras import ops

from keras_attn.layers import MultiHeadAttention

RNG = np.random.default_rng(7)


def np_attention(query, value, key, weights, mask=None):
    """Independent NumPy multi-head attention in float64.

    `weights` is the Keras-ordered list: q kernel (D, H, K), q bias (H, K),
    k kernel, k bias, v kernel, v bias, output kernel (H, V, O), bias (O,).
    `mask` is boolean (B, T, S). Rows with no allowed key give zero
    context. Returns (output, probabilities (B, H, T, S)).
    """
    qk, qb, kk, kb, vk, vb, ok, ob = [np.float64(w) for w in weights]
    q = np.einsum("btd,dhk->bthk", query, qk) + qb
    k = np.einsum("bsd,dhk->bshk", key, kk) + kb
    v = np.einsum("bsd,dhk->bshk", value, vk) + vb
    scores = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(qk.shape[-1])
    if mask is None:
        mask = np.ones(scores.shape[:1] + scores.shape[2:], bool)
    allowed = np.broadcast_to(mask[:, None], scores.shape)
    probs = np.zeros_like(scores)
    for index in np.ndindex(scores.shape[:3]):
        row, keep = scores[index], allowed[index]
        if keep.any():
            e = np.exp(row[keep] - row[keep].max())
            probs[index][keep] = e / e.sum()
    context = np.einsum("bhts,bshk->bthk", probs, v)
    return np.einsum("bthk,hko->bto", context, ok) + ob, probs


def to_np(x):
    return ops.convert_to_numpy(x)


def random(shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype("float32")


def randomize(layer):
    """Non-trivial weights (the default biases are zero)."""
    layer.set_weights([random(w.shape, 0.5) for w in layer.weights])


def padding(batch, length, lengths):
    return np.arange(length)[None, :] < np.asarray(lengths)[:, None]


def check_padding_against_numpy(return_scores, call=None):
    """`MultiHeadAttention` with padding (one row attending to nothing)
    against `np_attention`; `call(layer, *args, **kwargs)` calls the layer
    (default: as it is)."""
    call = call or (lambda layer, *args, **kwargs: layer(*args, **kwargs))
    batch, t, s = 3, 4, 6
    query, value = random((batch, t, 8)), random((batch, s, 8))
    layer = MultiHeadAttention(num_heads=2, key_dim=5)
    layer(query, value)
    randomize(layer)
    pad = padding(batch, s, [6, 3, 0])  # the last row attends to nothing
    out = call(
        layer,
        query,
        value,
        padding_mask=pad,
        return_attention_scores=return_scores,
    )
    want, want_probs = np_attention(
        query, value, value, layer.get_weights(), np.repeat(pad[:, None], t, 1)
    )
    got = to_np(out[0] if return_scores else out)
    assert np.abs(got - want).max() <= 1e-5
    if return_scores:
        probs = to_np(out[1])
        assert probs.shape == (batch, 2, t, s)
        assert np.abs(probs - want_probs).max() <= 1e-6
        assert np.all(probs[1, :, :, 3:] == 0.0)
        assert np.all(probs[2] == 0.0)
