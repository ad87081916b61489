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


def test_a_model_trained_at_16_exports_for_mediapipe_at_16_warning_once(
    tmp_path,
):
    """Issue 33, as a new user met it: `keras-attn train text-classifier
    --sequence-length 16` from scratch makes a model of 16 positions with
    vocab.txt and classes.json beside it. `keras-attn export --mediapipe
    text_classifier` without a length writes a file of 16 tokens (it
    failed at 128 with Keras's call dump), and the uncased vocabulary's
    accent warning is printed once (it was twice: warned, then printed
    again with the report). Run as a user runs it, in a child process."""
    import subprocess
    import sys

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (tmp_path / "classes.json").write_text(json.dumps(["neg", "pos"]))
    backbone = models.bert_backbone(
        vocabulary_size=len(vocab), num_layers=1, hidden_dim=8, num_heads=1,
        intermediate_dim=8, max_sequence_length=16,
    )  # fmt: skip
    models.bert_text_classifier(backbone, 2).save(tmp_path / "model.keras")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_attn.cli",
            "export",
            "model.keras",
            "--to",
            "tflite",
            "--mediapipe",
            "text_classifier",
            "--output",
            "mp.tflite",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout + result.stderr
    assert printed.count("strips accents") == 1, printed
    warned = [line for line in result.stderr.splitlines() if line]
    assert warned and all(
        line.startswith("keras-attn export: warning: ") for line in warned
    ), result.stderr
    assert "\x1b" not in printed
    assert "16 per call" in result.stdout
    runner = Interpreter(
        model_path=str(tmp_path / "mp.tflite")
    ).get_signature_runner()
    shapes = {
        name: list(details["shape_signature"])
        for name, details in runner.get_input_details().items()
    }
    assert shapes == {
        "token_ids": [1, 16],
        "segment_ids": [1, 16],
        "padding_mask": [1, 16],
    }


def test_a_saved_keras_hub_task_exports_with_its_own_length_and_tokenizer(
    tmp_path, capsys
):
    """A keras-hub `BertTextClassifier` saved as .keras (a task: its
    preprocessor of 12 tokens inside): `keras-attn export` without
    --sequence-length writes a 12-token file, and --mediapipe takes the
    task's tokenizer with no --vocab (none lies beside the model)."""
    import warnings

    import keras_hub

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat"]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab), num_layers=1, num_heads=1, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=32,
    )  # fmt: skip
    task = keras_hub.models.BertTextClassifier(
        backbone,
        num_classes=2,
        preprocessor=keras_hub.models.BertTextClassifierPreprocessor(
            tokenizer, sequence_length=12
        ),
    )
    task.save(tmp_path / "task.keras")
    (tmp_path / "labels.txt").write_text("neg\npos\n")

    def export(*flags):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras's compile() on loading
            return cli.main(
                ["export", str(tmp_path / "task.keras"), "--to", "tflite"]
                + list(flags)
            )

    assert export("--output", str(tmp_path / "plain.tflite")) == 0
    code = export(
        "--mediapipe", "text_classifier", "--labels",
        str(tmp_path / "labels.txt"), "--output", str(tmp_path / "mp.tflite"),
    )  # fmt: skip
    assert code == 0
    assert "7 tokens, 12 per call" in capsys.readouterr().out
    for name in ("plain.tflite", "mp.tflite"):
        runner = Interpreter(
            model_path=str(tmp_path / name)
        ).get_signature_runner()
        shapes = [
            list(details["shape_signature"])
            for details in runner.get_input_details().values()
        ]
        assert shapes == [[1, 12]] * 3, (name, shapes)


def test_a_run_folder_exports_at_the_length_it_was_trained_at(tmp_path):
    """The issue's first finding: a MiniLM fine-tuned at 32 tokens was
    exported for MediaPipe at 128. A run folder (what `keras-attn train`
    writes: a 512-position model trained at 12 here) exports at 12, with
    its classes and vocabulary, whether MODEL is the folder or the
    model.keras inside it."""
    from keras_attn.models.tasks import write_task_file

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat"]
    network = models.bert_text_classifier(
        models.bert_backbone(
            "bert_tiny", vocabulary_size=len(vocab), max_sequence_length=512
        ),
        3,
    )
    run = tmp_path / "run"
    run.mkdir()
    network.save(run / "model.keras")
    (run / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (run / "classes.json").write_text(json.dumps(["a", "b", "c"]))
    write_task_file(run, "text_classifier", sequence_length=12)
    for name, model in (("folder", run), ("file", run / "model.keras")):
        output = tmp_path / f"{name}.tflite"
        code = cli.main(
            ["export", str(model), "--to", "tflite", "--output", str(output)]
            + ["--mediapipe", "text_classifier"]
        )
        assert code == 0
        runner = Interpreter(model_path=str(output)).get_signature_runner()
        shapes = [
            list(details["shape_signature"])
            for details in runner.get_input_details().values()
        ]
        assert shapes == [[1, 12]] * 3, (name, shapes)
        assert [
            len(details["shape"]) and details["shape"][-1]
            for details in runner.get_output_details().values()
        ] == [3]
