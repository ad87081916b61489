"""Properties of the attention layers over many shapes, masks and dtypes.

Hypothesis draws the batch, the lengths, the number of heads, which keys
are padding and the values; each property must hold for every draw. The
layers get random weights and biases (zero biases would hide a padded key
that leaks through the value bias). CI uses the "ci" profile from
`conftest.py`: a fixed set of 25 draws per property, so a failure
reproduces; `HYPOTHESIS_PROFILE=explore` draws 300.
"""

import functools

import keras
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from layer_checks import decode_step_by_step
from layer_checks import to_np

from keras_attn.layers import MultiHeadSelfAttention
from keras_attn.layers import TransformerDecoder
from keras_attn.layers import TransformerEncoder

HEADS = st.sampled_from([1, 2, 4])
HEAD_DIM = st.sampled_from([2, 4])


def _randomize(layer, seed):
    rng = np.random.default_rng(seed)
    layer.set_weights(
        [
            rng.normal(0.0, 0.5, w.shape).astype("float32")
            + (1.0 if w.path.endswith("gamma") else 0.0)
            for w in layer.weights
        ]
    )
    return layer


@functools.cache
def encoder(heads, head_dim, normalize_first=False):
    hidden = heads * head_dim
    layer = TransformerEncoder(
        2 * hidden, heads, normalize_first=normalize_first
    )
    layer.build((None, None, hidden))
    return _randomize(layer, seed=heads * 10 + head_dim)


@functools.cache
def self_attention(heads, head_dim):
    hidden = heads * head_dim
    layer = MultiHeadSelfAttention(heads, key_dim=head_dim)
    layer.build((None, None, hidden))
    return _randomize(layer, seed=heads * 7 + head_dim)


@functools.cache
def decoder(heads, head_dim):
    hidden = heads * head_dim
    layer = TransformerDecoder(2 * hidden, heads)
    layer.build((None, None, hidden), (None, None, hidden))
    return _randomize(layer, seed=heads * 5 + head_dim)


@st.composite
def padded_batches(draw, max_batch=3, max_length=9):
    """(heads, head_dim, x, mask): every row keeps at least one token."""
    heads, head_dim = draw(HEADS), draw(HEAD_DIM)
    batch = draw(st.integers(1, max_batch))
    length = draw(st.integers(1, max_length))
    lengths = draw(
        st.lists(st.integers(1, length), min_size=batch, max_size=batch)
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, length, heads * head_dim))
    mask = np.arange(length)[None, :] < np.array(lengths)[:, None]
    return heads, head_dim, x.astype("float32"), mask


def _assert_close(got, want, atol=2e-5):
    np.testing.assert_allclose(to_np(got), to_np(want), atol=atol, rtol=1e-5)


@given(padded_batches(), st.integers(0, 2**32 - 1))
def test_padded_tokens_never_change_real_outputs(case, seed):
    heads, head_dim, x, mask = case
    layer = encoder(heads, head_dim)
    noise = np.random.default_rng(seed).standard_normal(x.shape) * 100.0
    other = np.where(mask[..., None], x, noise).astype("float32")
    a = to_np(layer(x, padding_mask=mask))
    b = to_np(layer(other, padding_mask=mask))
    _assert_close(a[mask], b[mask])


@given(padded_batches(max_batch=2), st.randoms(use_true_random=False))
def test_attention_without_positions_is_permutation_equivariant(case, rand):
    heads, head_dim, x, mask = case
    order = list(range(x.shape[1]))
    rand.shuffle(order)
    layer = self_attention(heads, head_dim)
    out = to_np(layer(x, padding_mask=mask))
    permuted = to_np(layer(x[:, order], padding_mask=mask[:, order]))
    _assert_close(permuted[mask[:, order]], out[:, order][mask[:, order]])


@given(padded_batches(max_batch=4), st.booleans())
def test_rows_of_a_batch_are_independent(case, normalize_first):
    heads, head_dim, x, mask = case
    layer = encoder(heads, head_dim, normalize_first)
    together = to_np(layer(x, padding_mask=mask))
    for row in range(x.shape[0]):
        alone = to_np(layer(x[row : row + 1], padding_mask=mask[row : row + 1]))
        _assert_close(together[row][mask[row]], alone[0][mask[row]])


@given(padded_batches(max_batch=2, max_length=6), st.integers(1, 7))
def test_cached_decoding_equals_the_full_causal_pass(case, source_length):
    heads, head_dim, target, _ = case
    layer = decoder(heads, head_dim)
    rng = np.random.default_rng(source_length)
    batch, _, hidden = target.shape
    source = rng.standard_normal((batch, source_length, hidden))
    source = source.astype("float32")
    full = to_np(layer(target, source))
    steps, _ = decode_step_by_step(layer, target, source, heads, head_dim)
    _assert_close(steps, full, atol=5e-5)


@given(padded_batches(max_batch=3), st.data())
def test_queries_with_no_allowed_key_attend_to_nothing(case, data):
    heads, head_dim, x, _ = case
    batch, length, hidden = x.shape
    layer = self_attention(heads, head_dim)
    allowed = np.array(
        data.draw(
            st.lists(
                st.lists(
                    st.lists(st.booleans(), min_size=length, max_size=length),
                    min_size=length,
                    max_size=length,
                ),
                min_size=batch,
                max_size=batch,
            )
        )
    )
    out, scores = layer(x, attention_mask=allowed, return_attention_scores=True)
    out, scores = to_np(out), to_np(scores)
    assert np.isfinite(out).all() and np.isfinite(scores).all()
    empty = ~allowed.any(-1)  # (B, T) queries with no key at all
    # Zero weights, so the row is exactly the output projection's bias.
    assert (scores.transpose(0, 2, 1, 3)[empty] == 0).all()
    bias = to_np(layer.output_bias)
    np.testing.assert_array_equal(
        out[empty], np.broadcast_to(bias, out[empty].shape)
    )
    # Elsewhere the weights are a distribution over the allowed keys only.
    seen = scores.transpose(0, 2, 1, 3)[~empty]
    np.testing.assert_allclose(seen.sum(-1), 1.0, atol=1e-5)
    hidden_keys = ~allowed[~empty][:, None, :].repeat(heads, 1)
    assert (seen[hidden_keys] == 0).all()


@given(
    padded_batches(max_batch=2),
    st.sampled_from(["mixed_float16", "mixed_bfloat16"]),
    st.floats(0.1, 30.0),
)
def test_half_precision_stays_finite_and_near_float32(case, policy, scale):
    heads, head_dim, x, mask = case
    x = x * np.float32(scale)
    reference = encoder(heads, head_dim)
    half = TransformerEncoder(2 * heads * head_dim, heads, dtype=policy)
    half.build((None, None, heads * head_dim))
    half.set_weights(reference.get_weights())
    want = to_np(reference(x, padding_mask=mask))
    got = to_np(half(x, padding_mask=mask)).astype("float32")
    assert np.isfinite(got).all()
    # Post-norm outputs are layer-normalised (entries of order 1): the
    # bars are a few units in the last place of each format's 11 or 8 bits.
    bar = 0.05 if policy == "mixed_float16" else 0.4
    assert np.abs(got - want)[mask].max() <= bar, policy
    keras.config.set_dtype_policy("float32")
