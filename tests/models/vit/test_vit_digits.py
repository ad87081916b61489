"""The digits accuracy bar: `vit_digits` trained from scratch on
scikit-learn's bundled 8x8 digits reaches 97% on the held-out 20%.

Runs the training function of `benchmarks/vit_digits.py` with its shorter
`TEST_RECIPE` (see there for the figures per seed).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "vit_digits.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("vit_digits", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_vit_digits_reaches_97_percent_on_the_held_out_split():
    benchmark = load_benchmark()
    model, accuracy = benchmark.train_digits(
        **benchmark.TEST_RECIPE, seed=0, verbose=0
    )
    _, x_test, _, y_test = benchmark.load_digits_split(seed=0)
    # The held-out 20% (360 of 1,797), stratified: 34 to 37 per class.
    assert x_test.shape == (360, 8, 8, 1)
    counts = np.bincount(y_test, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37, counts
    # Our own count of right answers agrees with Keras's metric.
    predicted = np.argmax(model.predict(x_test, verbose=0), axis=-1)
    assert np.mean(predicted == y_test) == pytest.approx(accuracy, abs=1e-6)
    assert accuracy >= 0.97, accuracy
