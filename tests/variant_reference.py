"""NumPy attention with every scoring function, local windows and hard
choices, written from the papers' formulas in float64 (not from the
layer's code): the reference the attention variants are held to, in the
layer tests and in the export tests."""

import numpy as np


def project(x, kernel, bias):
    """`(B, L, D) @ (D, H, K) + (H, K)` -> `(B, L, H, K)`."""
    y = np.einsum("bld,dhk->blhk", np.float64(x), np.float64(kernel))
    return y if bias is None else y + np.float64(bias)


def scores(q, k, score, extra=None):
    """Logits `(B, H, T, S)` of projected queries `(B, T, H, K)` and keys
    `(B, S, H, K)`:

    - scaled_dot (Vaswani et al., 2017): `q . k / sqrt(K)`;
    - dot (Luong et al., 2015): `q . k`;
    - general (Luong et al., 2015): `q^T W_h k`, `extra` = W `(H, K, K)`;
    - additive (Bahdanau et al., 2015): `v_h^T tanh(W_q s + W_k h)`, whose
      `W_q s` and `W_k h` are the projected q and k; `extra` = v `(H, K)`.
    """
    batch, t, heads, _ = q.shape
    s = k.shape[1]
    out = np.zeros((batch, heads, t, s))
    for b in range(batch):
        for h in range(heads):
            for i in range(t):
                for j in range(s):
                    qi, kj = q[b, i, h], k[b, j, h]
                    if score == "scaled_dot":
                        e = qi @ kj / np.sqrt(len(qi))
                    elif score == "dot":
                        e = qi @ kj
                    elif score == "general":
                        e = qi @ np.float64(extra[h]) @ kj
                    else:
                        e = np.float64(extra[h]) @ np.tanh(qi + kj)
                    out[b, h, i, j] = e
    return out


def band(t, s, window, causal=False, start=0):
    """`(T, S)` bool: `|i - j| <= window` (and `j <= i` when causal), query
    `i` at absolute position `start + i`."""
    rows = np.arange(t)[:, None] + start
    cols = np.arange(s)[None, :]
    allowed = np.abs(rows - cols) <= window
    if causal:
        allowed &= cols <= rows
    return allowed


def weights_from(logits, mask, hard=None):
    """Softmax (or a one-hot on the largest allowed logit, `hard="argmax"`)
    over allowed keys per row; rows with no allowed key are zeros."""
    mask = np.broadcast_to(mask[:, None], logits.shape)
    probs = np.zeros_like(logits)
    for index in np.ndindex(logits.shape[:3]):
        row, keep = logits[index], mask[index]
        if not keep.any():
            continue
        if hard == "argmax":
            allowed = np.where(keep)[0]
            probs[index][allowed[np.argmax(row[allowed])]] = 1.0
        else:
            e = np.exp(row[keep] - row[keep].max())
            probs[index][keep] = e / e.sum()
    return probs


def attention(query, value, layer_weights, score, mask=None, hard=None):
    """Multi-head attention in float64. `layer_weights`: the layer's
    `get_weights()` (q, k, v kernels and biases, output kernel and bias,
    then the score's own weight if any); `mask` bool `(B, T, S)`.
    Returns (output `(B, T, O)`, weights `(B, H, T, S)`)."""
    qk, qb, kk, kb, vk, vb, ok, ob, *extra = layer_weights
    q, k = project(query, qk, qb), project(value, kk, kb)
    v = project(value, vk, vb)
    logits = scores(q, k, score, extra[0] if extra else None)
    if mask is None:
        mask = np.ones((logits.shape[0],) + logits.shape[2:], bool)
    probs = weights_from(logits, mask, hard)
    context = np.einsum("bhts,bshk->bthk", probs, v)
    return np.einsum("bthk,hko->bto", context, np.float64(ok)) + ob, probs
