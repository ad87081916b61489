"""A full-int8 audio classifier: its log-mel front end stays in float32
(`export.lowering.FLOAT_IN_INT8`), everything after its LOG is int8, and
the file keeps Keras's answers."""

import keras
import numpy as np
import pytest
import tiny_models

from keras_attn import models
from keras_attn.export import accelerators
from keras_attn.export import lowering
from keras_attn.export import to_tflite
from keras_attn.export.runtime import LiteRTRunner


def clips(count, seed):
    """Tones from 200 Hz to 3.5 kHz at levels from -40 to 0 dBFS over
    faint noise: the front end's input range, quiet clips included."""
    rng = np.random.default_rng(seed)
    samples = tiny_models.AUDIO_TINY["clip_samples"]
    t = np.arange(samples) / tiny_models.AUDIO_TINY["sample_rate"]
    rows = []
    for _ in range(count):
        level = 10 ** rng.uniform(-2, 0)
        tone = np.sin(2 * np.pi * rng.uniform(200, 3500) * t)
        rows.append(level * tone + 1e-3 * rng.standard_normal(samples))
    return np.asarray(rows, "float32")


@pytest.fixture(scope="module")
def int8_file(tmp_path_factory):
    keras.utils.set_random_seed(11)
    model = models.audio_classifier(4, **tiny_models.AUDIO_TINY)
    path = tmp_path_factory.mktemp("audio_int8") / "audio_int8.tflite"
    to_tflite(
        model,
        path,
        quantization="int8",
        representative_data=[{"waveforms": c[None]} for c in clips(24, 0)],
        measure_latency=False,
        num_samples=1,
    )
    return model, path


def test_float_scopes_finds_the_front_end_inside_the_backbone():
    model = models.audio_classifier(2, **tiny_models.AUDIO_TINY)
    assert lowering.float_scopes(model) == ["log_mel"]
    assert lowering.float_scopes(models.vit_classifier(2, "vit_digits")) == []


def test_front_end_is_float_and_the_rest_int8(int8_file):
    _, path = int8_file
    interpreter = LiteRTRunner(path).interpreter
    types = {
        t["index"]: (t["name"], t["dtype"].__name__)
        for t in interpreter.get_tensor_details()
    }
    kinds = []
    for op in interpreter._get_ops_details():
        name, dtype = types[op["outputs"][0]]
        kinds.append(("log_mel" in name, op["op_name"], dtype))
    front = [k for k in kinds if k[0]]
    rest = [k for k in kinds if not k[0]]
    assert {op for _, op, _ in front} >= {"CONV_2D", "LOG"}
    assert all(dtype == "float32" for *_, dtype in front), front
    assert rest[0][1:] == ("QUANTIZE", "int8"), rest[:2]
    # The encoder's matrix products and the logits are int8; only the
    # output is dequantized back to float32.
    body = [k for k in rest[1:] if k[1] != "DEQUANTIZE"]
    assert all(dtype == "int8" for *_, dtype in body), body
    assert {"BATCH_MATMUL", "FULLY_CONNECTED"} <= {op for _, op, _ in body}


def test_int8_file_keeps_keras_answers(int8_file):
    model, path = int8_file
    runner = LiteRTRunner(path)
    held_out = clips(24, 1)
    want = np.asarray(model.predict(held_out, verbose=0))
    got = np.concatenate(
        [next(iter(runner({"waveforms": c[None]}).values())) for c in held_out]
    )
    spread = want.max() - want.min()
    assert np.abs(got - want).max() < 0.1 * spread, (got - want, spread)
    assert (got.argmax(-1) == want.argmax(-1)).mean() >= 0.9


def test_int8_file_compiles_for_a_qualcomm_npu_in_one_partition(int8_file):
    if accelerators.qnn_folder() is None:
        pytest.skip(
            "Qualcomm's host libraries are not installed "
            "(accelerators.fetch_qnn_libraries())"
        )
    _, path = int8_file
    for check in accelerators.check_npu(path, ["SM8650"]):
        assert check.fully_accelerated, check.summary()
        assert check.partitions == 1, check.summary()
