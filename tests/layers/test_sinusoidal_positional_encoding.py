import numpy as np
import pytest
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import SinusoidalPositionalEncoding


def vaswani(positions, hidden, max_wavelength=10000.0):
    """The formula of Vaswani et al. (2017), section 3.5, in float64."""
    pe = np.zeros((len(positions), hidden))
    for row, pos in enumerate(positions):
        for i in range(0, hidden, 2):
            angle = pos / max_wavelength ** (i / hidden)
            pe[row, i] = np.sin(angle)
            if i + 1 < hidden:
                pe[row, i + 1] = np.cos(angle)
    return pe


def test_layer_behaviour():
    run_layer_test(
        SinusoidalPositionalEncoding,
        {"max_wavelength": 500.0},
        {"inputs": ((2, 7, 6), "float32")},
        expected_output_shape=(2, 7, 6),
        expected_num_trainable_weights=0,
        check_fit=False,  # no weights to move
    )


@pytest.mark.parametrize("hidden", [16, 7])
def test_matches_the_formula(hidden):
    layer = SinusoidalPositionalEncoding()
    out = ops.convert_to_numpy(layer(np.zeros((2, 40, hidden), "float32")))
    want = vaswani(range(40), hidden)
    assert np.abs(out[0] - want).max() <= 1e-5
    np.testing.assert_array_equal(out[0], out[1])


def test_max_wavelength_and_start_index():
    layer = SinusoidalPositionalEncoding(max_wavelength=100)
    out = ops.convert_to_numpy(
        layer(np.zeros((1, 5, 8), "float32"), start_index=30)
    )
    want = vaswani(range(30, 35), 8, max_wavelength=100.0)
    assert np.abs(out[0] - want).max() <= 1e-5


def test_any_length_without_weights():
    layer = SinusoidalPositionalEncoding()
    out = layer(np.zeros((1, 5000, 4), "float32"))
    assert tuple(out.shape) == (1, 5000, 4)
    assert layer.weights == []
    values = ops.convert_to_numpy(out)
    assert np.all(np.abs(values) <= 1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_wavelength=0"):
        SinusoidalPositionalEncoding(max_wavelength=0)
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        SinusoidalPositionalEncoding()(np.zeros((3, 4), "float32"))
