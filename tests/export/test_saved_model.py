"""`to_saved_model`, reloaded with plain TensorFlow in a fresh process."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiny_models import bert_classifier

from keras_attn import models
from keras_attn.export import to_saved_model

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the a movie film was is good bad great not very ! ."
).split()


def tiny_classifier():
    return bert_classifier(len(VOCABULARY), max_sequence_length=16)


def test_fresh_process_reload_equals_keras(tmp_path):
    keras.utils.set_random_seed(3)
    model = tiny_classifier()
    folder = tmp_path / "classifier"
    report = to_saved_model(model, folder)
    assert report.max_abs_diff["logits"] <= 1e-5
    rng = np.random.default_rng(0)
    ids = rng.integers(1, len(VOCABULARY), size=(3, 9)).astype("int32")
    ids[1, 5:] = 0
    inputs = {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": (ids != 0).astype("int32"),
    }
    np.savez(tmp_path / "inputs.npz", **inputs)
    # Plain TensorFlow, no keras_attn import: what a server would run.
    script = textwrap.dedent(
        f"""
        import numpy as np, tensorflow as tf
        inputs = dict(np.load({str(tmp_path / "inputs.npz")!r}))
        loaded = tf.saved_model.load({str(folder)!r})
        serve = loaded.signatures["serving_default"]
        out = serve(**{{k: tf.constant(v) for k, v in inputs.items()}})
        np.save({str(tmp_path / "out.npy")!r}, out["logits"].numpy())
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    got = np.load(tmp_path / "out.npy")
    want = np.asarray(model(inputs))
    assert np.max(np.abs(got - want)) <= 1e-5


@pytest.fixture
def vocabulary_folder(tmp_path):
    folder = tmp_path / "tokenizer"
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True})
    )
    return folder


def test_text_signature_takes_raw_strings(tmp_path, vocabulary_folder):
    import tensorflow_text  # noqa: F401  (keras-hub's tokenizer ops)

    model = tiny_classifier()
    preprocessor = models.load_bert_preprocessor(
        vocabulary_folder, sequence_length=10
    )
    folder = tmp_path / "text"
    report = to_saved_model(model, folder, preprocessor=preprocessor)
    assert report.max_abs_diff["text:logits"] <= 1e-5
    loaded = tf.saved_model.load(str(folder))
    assert set(loaded.signatures) == {"serving_default", "serve_token_ids"}
    sentences = ["The movie was very good!", "bad film .", ""]
    got = loaded.signatures["serving_default"](text=tf.constant(sentences))
    features = preprocessor(tf.constant(sentences))
    want = model({k: tf.cast(v, "int32") for k, v in features.items()})
    assert np.max(np.abs(got["logits"].numpy() - np.asarray(want))) <= 1e-5


def test_an_existing_folder_is_replaced_whole(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "stale.txt").write_text("from an earlier export")
    to_saved_model(tiny_classifier(), folder, check=False)
    assert not (folder / "stale.txt").exists()
    assert (folder / "saved_model.pb").exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model"]
    assert leftovers == []
