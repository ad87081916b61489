"""Load: many inferences and many exports, with memory watched.

Resident memory (`VmRSS`) is read after a warm-up and at the end; the
bounds are a few times what was measured here (growth of 0.0 MB for
LiteRT and 0.1 MB for the SavedModel over 9,000 calls; a flat parent over
20 exports, 955 MB throughout, with the converter worker growing by about
1 MB a job until it is replaced), so a leak of even a kilobyte a call
fails them. The export soak runs 12 exports with the worker replaced
every 4.
"""

import gc

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import rss_mb
from tiny_models import bert_classifier

from keras_attn.export import LiteRTRunner
from keras_attn.export import converter
from keras_attn.export import load_saved_model
from keras_attn.export import to_saved_model
from keras_attn.export import to_tflite

# Thousands of inferences and twelve exports: end-to-end, handed out early.
pytestmark = pytest.mark.slow

VOCABULARY, LENGTH = 30, 8
CALLS, WARMUP = 10_000, 1_000


def classifier(seed=0):
    return bert_classifier(VOCABULARY, LENGTH, seed=seed)


def random_rows(rng):
    """One valid row: 1 to LENGTH real tokens, the rest padding."""
    ids = np.zeros((1, LENGTH), "int32")
    real = int(rng.integers(1, LENGTH + 1))
    ids[0, :real] = rng.integers(1, VOCABULARY, real)
    return {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": (ids != 0).astype("int32"),
    }


@pytest.fixture(scope="module")
def model():
    return classifier()


def _soak(call, model, bound_mb):
    rng = np.random.default_rng(0)
    checked = []
    for index in range(CALLS):
        inputs = random_rows(rng)
        logits = call(inputs)
        assert np.isfinite(logits).all(), index
        if index == WARMUP - 1:
            gc.collect()
            start = rss_mb()
        if index % 2500 == 0:
            checked.append((inputs, logits))
    gc.collect()
    growth = rss_mb() - start
    assert growth < bound_mb, f"grew {growth:.1f} MB over {CALLS - WARMUP}"
    # The soaked artifact still computes what the model computes.
    for inputs, logits in checked:
        want = model.predict(inputs, verbose=0)
        np.testing.assert_allclose(logits, want, atol=1e-4)


def test_litert_10000_inferences_keep_memory_flat(model, tmp_path):
    path = tmp_path / "classifier.tflite"
    to_tflite(model, path, sequence_length=LENGTH, measure_latency=False)
    runner = LiteRTRunner(path, num_threads=1)
    _soak(lambda inputs: runner(inputs)["logits"], model, bound_mb=8)


def test_saved_model_10000_inferences_keep_memory_flat(model, tmp_path):
    to_saved_model(model, tmp_path / "saved", check=False)
    serve = load_saved_model(tmp_path / "saved").signatures["serving_default"]

    def call(inputs):
        feed = {k: tf.constant(v) for k, v in inputs.items()}
        return serve(**feed)["logits"].numpy()

    _soak(call, model, bound_mb=16)


def _refreeze():
    """Unfreezes, collects, and freezes what is left alive: collection's
    objects, frozen by conftest.py, stay out of the walk."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def test_twelve_exports_keep_memory_bounded(tmp_path, monkeypatch, request):
    # Replace the converter worker every 4 jobs here (50 by default), so
    # 12 exports also go through two replacements.
    monkeypatch.setattr(converter, "WORKER_MAX_JOBS", 4)
    workers, parent = [], []
    # Each export below is followed by two full collections (Keras's
    # clear_session runs one). What lives before the first export (all
    # that the worker's earlier tests left) is frozen out of their walk,
    # as conftest.py freezes what collection made: in a worker that has
    # run a few hundred tests, each would walk millions of objects.
    # Garbage the exports make is still collected before each reading.
    gc.collect()
    gc.freeze()
    request.addfinalizer(_refreeze)
    for index in range(12):
        # A new model each time, as a user exporting many models would.
        path = tmp_path / f"model{index % 3}.tflite"
        report = to_tflite(
            classifier(seed=index),
            path,
            sequence_length=LENGTH,
            measure_latency=False,
            num_samples=1,
        )
        assert report.max_abs_diff["logits"] <= 1e-4
        keras.backend.clear_session()
        gc.collect()
        parent.append(rss_mb())
        worker = converter._worker
        if worker is not None:
            workers.append((worker.process.pid, rss_mb(worker.process.pid)))
    # This process holds the traced graphs only while exporting.
    assert max(parent[4:]) - parent[3] < 40, parent
    # The converter's memory lives in the worker, which is replaced.
    assert len({pid for pid, _ in workers}) >= 3
    assert max(memory for _, memory in workers) < converter.WORKER_MAX_RSS_MB
