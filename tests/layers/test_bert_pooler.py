import numpy as np
import pytest
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import BertPooler


def test_layer_behaviour():
    run_layer_test(
        BertPooler,
        {"bias_initializer": "ones"},
        {"inputs": ((3, 5, 8), "float32")},
        expected_output_shape=(3, 8),
        expected_num_trainable_weights=2,
    )


def test_matches_numpy_on_first_token():
    pooler = BertPooler()
    x = np.random.default_rng(0).standard_normal((2, 4, 6)).astype("float32")
    out = ops.convert_to_numpy(pooler(x))
    kernel, bias = pooler.get_weights()
    want = np.tanh(x[:, 0].astype("float64") @ kernel + bias)
    assert np.abs(out - want).max() <= 1e-6
    # Only the first token matters.
    x2 = x.copy()
    x2[:, 1:] = 123.0
    np.testing.assert_array_equal(ops.convert_to_numpy(pooler(x2)), out)


def test_bad_rank():
    with pytest.raises(ValueError, match=r"rank 3.*\(2, 6\)"):
        BertPooler()(np.zeros((2, 6), "float32"))
