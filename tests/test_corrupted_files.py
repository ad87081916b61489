"""Damaged model files: a clear error naming the file, never a crash, a
half-loaded model or NaN outputs.

Each file is first written by the real code (`Model.save`, `to_tflite`,
`to_saved_model`, `Translator.save`), then damaged the ways files are
damaged in practice: cut short by a full disk or an interrupted copy,
emptied, a byte changed on disk or in transit, a member missing or
edited, NaN weights. The Hugging Face `model.safetensors` and `vocab.txt`
cases are in `tests/models/bert/test_bert_huggingface.py` and
`test_bert_preprocessing.py`; the NaN safetensors case is here.
"""

import io
import os
import subprocess
import sys
import zipfile

import h5py
import keras
import numpy as np
import pytest

import keras_attn
from keras_attn import models
from keras_attn.export import CorruptModelError
from keras_attn.export import LiteRTRunner
from keras_attn.export import inspect_tflite
from keras_attn.export import integrity
from keras_attn.export import load_saved_model
from keras_attn.export import to_saved_model
from keras_attn.export import to_tflite
from keras_attn.export import verify_tflite


@pytest.fixture(scope="module")
def vit():
    keras.utils.set_random_seed(2)
    return models.vit_classifier(10, "vit_digits")


@pytest.fixture(scope="module")
def keras_file(vit, tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "vit.keras"
    vit.save(path)
    return path


@pytest.fixture(scope="module")
def tflite_file(vit, tmp_path_factory):
    path = tmp_path_factory.mktemp("tflite") / "vit.tflite"
    to_tflite(vit, path, measure_latency=False)
    return path


def damaged_copy(source, target, change):
    target.write_bytes(change(source.read_bytes()))
    return target


def rewrite_member(source, target, name, change):
    """Copies the zip at `source` with member `name` changed (or dropped
    when `change` returns None); CRCs are recomputed, so the zip is fine
    and only the member is wrong."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == name:
                content = change(content)
                if content is None:
                    continue
            new.writestr(item, content)
    return target


def flip_middle(blob):
    blob = bytearray(blob)
    blob[len(blob) // 2] ^= 0xFF
    return bytes(blob)


# --- .keras ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda b: b[: len(b) // 2], "it may be truncated"),
        (lambda b: b"", "the file is empty"),
        (flip_middle, "fails its CRC check"),
        (lambda b: b"PK\x03\x04" + b"\x00" * 200, "not a .keras file"),
    ],
    ids=["truncated", "empty", "byte_flipped", "zip_header_only"],
)
def test_damaged_keras_file_names_itself(
    keras_file, tmp_path, change, expected
):
    bad = damaged_copy(keras_file, tmp_path / "bad.keras", change)
    with pytest.raises(CorruptModelError, match=expected) as caught:
        keras_attn.load_model(bad)
    assert caught.value.path == str(bad)
    assert str(bad) in str(caught.value)


def _drop_first_weight(blob):
    buffer = io.BytesIO(blob)
    with h5py.File(buffer, "a") as weights:
        names = []
        weights.visit(names.append)
        first = next(n for n in names if isinstance(weights[n], h5py.Dataset))
        del weights[first]
    return buffer.getvalue()


def _nan_weights(blob):
    buffer = io.BytesIO(blob)
    with h5py.File(buffer, "a") as weights:
        names = []
        weights.visit(names.append)
        for name in names:
            if isinstance(weights[name], h5py.Dataset):
                weights[name][...] = np.nan
                break
    return buffer.getvalue()


@pytest.mark.parametrize(
    "member, change, expected",
    [
        ("config.json", lambda b: b[:100], "config.json is not valid JSON"),
        ("model.weights.h5", lambda b: None, "lacks model.weights.h5"),
        ("model.weights.h5", lambda b: b[: len(b) // 2], "could not load"),
        ("model.weights.h5", _drop_first_weight, "could not be loaded"),
        ("model.weights.h5", _nan_weights, "NaN or infinite"),
    ],
    ids=["bad_config", "no_weights", "cut_weights", "missing_var", "nan"],
)
def test_damaged_keras_member_is_refused_not_half_loaded(
    keras_file, tmp_path, member, change, expected
):
    bad = rewrite_member(keras_file, tmp_path / "bad.keras", member, change)
    with pytest.raises(CorruptModelError, match=expected):
        keras_attn.load_model(bad)


def test_intact_keras_file_loads_and_predicts_the_same(vit, keras_file):
    images = np.random.default_rng(0).random((3, 8, 8, 1)).astype("float32")
    loaded = keras_attn.load_model(keras_file)
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), vit.predict(images, verbose=0)
    )


def test_safe_mode_refuses_a_file_that_would_run_code(tmp_path):
    marker = tmp_path / "ran"
    inputs = keras.Input((2,))
    # Code that leaves a mark when it runs (a real attack would do worse).
    code = f"lambda x: x * 2 + float(open({str(marker)!r}, 'w').close() or 0)"
    outputs = keras.layers.Lambda(eval(code))(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink(missing_ok=True)  # saving traced the lambda once
    with pytest.raises(ValueError, match="safe mode refused"):
        keras_attn.load_model(path)
    assert not marker.exists()


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nothing.keras"):
        keras_attn.load_model("nothing.keras")


# --- .tflite -----------------------------------------------------------------


def test_our_tflite_files_carry_a_checksum(tflite_file):
    blob = tflite_file.read_bytes()
    assert blob[-integrity.FOOTER_SIZE : -32] == integrity.FOOTER_TAG
    assert verify_tflite(tflite_file) == "checksum"
    assert inspect_tflite(tflite_file)["integrity"] == "checksum"


@pytest.mark.parametrize(
    "change, expected",
    [
        (flip_middle, "changed since keras_attn wrote it"),
        (lambda b: b[: len(b) // 2], "not a usable TFLite model"),
        (lambda b: b"", "the file is empty"),
        (lambda b: b"\x00" * 64, "not a TFLite model"),
    ],
    ids=["byte_flipped", "truncated", "empty", "zeros"],
)
def test_damaged_tflite_is_refused_by_every_reader(
    tflite_file, tmp_path, change, expected
):
    bad = damaged_copy(tflite_file, tmp_path / "bad.tflite", change)
    for read in (verify_tflite, inspect_tflite, LiteRTRunner):
        with pytest.raises(CorruptModelError, match=expected) as caught:
            read(bad)
        assert caught.value.path == str(bad)


def test_tflite_made_elsewhere_is_tried_in_a_child_first(tflite_file, tmp_path):
    # The same model without our footer, as another exporter writes it.
    plain = tmp_path / "plain.tflite"
    model, _ = integrity.split_footer(tflite_file.read_bytes())
    plain.write_bytes(model)
    assert verify_tflite(plain) == "probe"
    # A footer cut short is no footer: the model before it is intact and
    # the probe runs it.
    plain.write_bytes(tflite_file.read_bytes()[:-1])
    assert verify_tflite(plain) == "probe"
    runner = LiteRTRunner(plain)
    assert set(runner({"images": np.zeros((1, 8, 8, 1))})) == {"logits"}


def test_a_crash_while_probing_is_reported_not_inherited(
    tflite_file, tmp_path, monkeypatch
):
    plain = tmp_path / "plain.tflite"
    plain.write_bytes(integrity.split_footer(tflite_file.read_bytes())[0])
    # What a file that crashes the interpreter does to the child.
    monkeypatch.setattr(integrity, "_PROBE", "import os; os.abort()")
    with pytest.raises(CorruptModelError, match=r"crashed \(signal 6\)"):
        verify_tflite(plain)


def test_inspect_command_exits_2_naming_the_damaged_file(tflite_file, tmp_path):
    bad = damaged_copy(tflite_file, tmp_path / "bad.tflite", flip_middle)
    result = subprocess.run(
        [sys.executable, "-m", "keras_attn.cli", "inspect", str(bad)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the checkout: the installed keras_attn
    )
    assert result.returncode == 2
    assert f"{bad}: the file changed since keras_attn wrote it" in (
        result.stderr
    )


# --- SavedModel --------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_model(vit, tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved") / "vit"
    to_saved_model(vit, folder, check=False)
    return folder


def _copy_folder(source, target):
    import shutil

    shutil.copytree(source, target)
    return target


def test_intact_saved_model_loads(saved_model):
    assert "serving_default" in load_saved_model(saved_model).signatures


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda f: (f / "saved_model.pb").unlink(), "no saved_model.pb"),
        (
            lambda f: (f / "saved_model.pb").write_bytes(
                (f / "saved_model.pb").read_bytes()[:500]
            ),
            "TensorFlow could not load it",
        ),
        (
            lambda f: (f / "variables" / "variables.index").unlink(),
            "variables.index is missing",
        ),
        (
            lambda f: [
                p.write_bytes(flip_middle(p.read_bytes()))
                for p in (f / "variables").glob("variables.data-*")
            ],
            "TensorFlow could not load it",
        ),
    ],
    ids=["no_graph", "cut_graph", "no_index", "flipped_variables"],
)
def test_damaged_saved_model_names_the_folder(
    saved_model, tmp_path, damage, expected
):
    folder = _copy_folder(saved_model, tmp_path / "copy")
    damage(folder)
    with pytest.raises(CorruptModelError, match=expected) as caught:
        load_saved_model(folder)
    assert caught.value.path == str(folder)


# --- model.safetensors with NaN ----------------------------------------------


def test_nan_safetensors_weights_are_refused(tmp_path):
    from safetensors.numpy import save_file

    tensors = {"embeddings.word_embeddings.weight": np.ones((4, 2), "float32")}
    tensors["embeddings.word_embeddings.weight"][1, 1] = np.inf
    save_file(tensors, tmp_path / "model.safetensors")
    from keras_attn.models.bert.huggingface import _read_tensors

    with pytest.raises(ValueError, match="holds NaN or infinite"):
        _read_tensors(tmp_path)


def test_cli_export_names_a_damaged_keras_file(keras_file, tmp_path):
    bad = damaged_copy(keras_file, tmp_path / "bad.keras", flip_middle)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_attn.cli",
            "export",
            str(bad),
            "--to",
            "tflite",
            "--output",
            str(tmp_path / "out.tflite"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the checkout: the installed keras_attn
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode != 0
    assert f"{bad}: damaged" in result.stderr
    assert not (tmp_path / "out.tflite").exists()
