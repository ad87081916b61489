"""`keras-attn export` and `keras-attn inspect`, called through `main`."""

import json

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from keras_attn import cli
from keras_attn import models


@pytest.fixture(scope="module")
def saved_vit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    # Seeded here: a module fixture runs before the per-test seeding, so
    # its weights would otherwise depend on which tests ran first.
    keras.utils.set_random_seed(0)
    model = models.vit_classifier(10, "vit_digits")
    path = folder / "vit.keras"
    model.save(path)
    return model, path


def test_export_tflite_int8_with_calibration_prints_the_report(
    saved_vit, tmp_path, capsys
):
    model, path = saved_vit
    images = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
    np.savez(tmp_path / "calibration.npz", images=images)
    output = tmp_path / "vit_int8.tflite"
    code = cli.main(
        [
            "export",
            str(path),
            "--to",
            "tflite",
            "--quantize",
            "int8",
            "--calibration",
            str(tmp_path / "calibration.npz"),
            "--output",
            str(output),
            "--report",
            str(tmp_path / "report.json"),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "TFLite export (int8)" in printed and "latency" in printed
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["quantization"] == "int8"
    runner = Interpreter(model_path=str(output)).get_signature_runner()
    (logits,) = runner(images=images[:1]).values()
    assert logits.shape == (1, 10)
    # Calibrated on these images: the int8 file picks the Keras class.
    assert np.argmax(logits) == np.argmax(np.asarray(model(images[:1])))

    code = cli.main(["inspect", str(output)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "input  images: float32[1x8x8x1]" in printed
    assert "FULLY_CONNECTED" in printed


def test_export_saved_model(saved_vit, tmp_path, capsys):
    _, path = saved_vit
    code = cli.main(
        [
            "export",
            str(path),
            "--to",
            "saved_model",
            "--output",
            str(tmp_path / "vit"),
        ]
    )
    assert code == 0
    assert "SavedModel export" in capsys.readouterr().out
    assert (tmp_path / "vit" / "saved_model.pb").exists()


def test_bad_model_path_and_bad_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(
            [
                "export",
                str(tmp_path / "missing.keras"),
                "--to",
                "tflite",
                "--output",
                str(tmp_path / "x.tflite"),
            ]
        )
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"keras-attn export: error: argument MODEL: {tmp_path}/missing.keras "
        "not found; expected a .keras Keras model\n"
    )
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    assert cli.main(["inspect", str(bad)]) == 2
    assert "not a TFLite model" in capsys.readouterr().err
