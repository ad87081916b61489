"""Bad inputs through whole models and their exported files.

Each case is something a server or an app could be sent: ids outside the
vocabulary or the segment table, sequences longer than the position
table, ids of the wrong dtype or rank, images of the wrong size or
channel count, and text that tokenizes to nothing. The Keras model must
refuse it with an error that names the problem; a SavedModel refuses it
the same way; a LiteRT interpreter refuses it without taking the process
down (that part runs in a child process, so a crash fails the test
instead of ending the run).
"""

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
from keras_attn.export import to_tflite

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the a movie film was is good bad great not very ! ."
).split()
LENGTH = 8


def tiny_classifier():
    return bert_classifier(len(VOCABULARY), LENGTH, seed=5)


def bert_inputs(token_ids, segment_ids=None):
    token_ids = np.asarray(token_ids, "int32")
    if segment_ids is None:
        segment_ids = np.zeros_like(token_ids)
    return {
        "token_ids": token_ids,
        "segment_ids": np.asarray(segment_ids, "int32"),
        "padding_mask": np.ones_like(token_ids),
    }


GOOD = [[2, 7, 12, 3, 0, 0, 0, 0]]
TOO_LARGE = [[2, 7, len(VOCABULARY), 3, 0, 0, 0, 0]]
NEGATIVE = [[2, 7, -1, 3, 0, 0, 0, 0]]


@pytest.fixture(scope="module")
def classifier():
    return tiny_classifier()


@pytest.mark.parametrize("ids", [TOO_LARGE, NEGATIVE], ids=["large", "neg"])
def test_predict_stops_on_token_ids_outside_the_vocabulary(classifier, ids):
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        classifier.predict(bert_inputs(ids), verbose=0)
    assert f"`token_ids` in [0, {len(VOCABULARY)})" in str(caught.value)


def test_call_names_segment_ids_outside_the_table(classifier):
    segments = [[0, 0, 2, 0, 0, 0, 0, 0]]
    with pytest.raises(ValueError, match=r"`segment_ids` in \[0, 2\).*2 at"):
        classifier(bert_inputs(GOOD, segments))


def test_fit_stops_instead_of_training_on_a_wrapped_id(classifier):
    classifier.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = [w.copy() for w in classifier.get_weights()]
    with pytest.raises(tf.errors.InvalidArgumentError, match="token_ids"):
        classifier.fit(
            bert_inputs(NEGATIVE * 4), np.zeros(4, "int32"), verbose=0
        )
    after = classifier.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_sequence_longer_than_the_position_table(classifier):
    ids = [[2] + [7] * LENGTH + [3]]
    with pytest.raises(ValueError, match=f"holds {LENGTH} positions"):
        classifier.predict(bert_inputs(ids), verbose=0)


def test_float_token_ids_are_refused():
    layer = models.bert_backbone(
        num_layers=1,
        hidden_dim=8,
        num_heads=2,
        intermediate_dim=16,
        vocabulary_size=20,
    ).get_layer("embeddings")
    with pytest.raises(TypeError, match="integer `token_ids`"):
        layer(np.array([[2.0, 3.5]], "float32"))


def test_token_ids_of_the_wrong_rank(classifier):
    inputs = bert_inputs(GOOD)
    inputs["token_ids"] = inputs["token_ids"][:, :, None].repeat(2, -1)
    with pytest.raises(ValueError, match="token_ids"):
        classifier.predict(inputs, verbose=0)


def test_images_of_the_wrong_size_or_channels():
    model = models.vit_classifier(10, "vit_digits")
    with pytest.raises(ValueError, match=r"expected shape=\(None, 8, 8, 1\)"):
        model.predict(np.zeros((1, 16, 16, 1), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"value 1.*\(1, 8, 8, 3\)"):
        model.predict(np.zeros((1, 8, 8, 3), "float32"), verbose=0)


def test_empty_whitespace_and_unknown_text_give_finite_logits(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    preprocessor = models.load_bert_preprocessor(tmp_path, sequence_length=8)
    texts = ["", "   \t  ", "\u2603\u2603 \U0001f600", "\x00\x01", "good"]
    inputs = preprocessor(tf.constant(texts))
    ids = keras.ops.convert_to_numpy(inputs["token_ids"])
    cls, sep, unk = (VOCABULARY.index(t) for t in ("[CLS]", "[SEP]", "[UNK]"))
    # Nothing but [CLS] [SEP] for the empty ones, [UNK] for the unknown.
    np.testing.assert_array_equal(ids[0, :3], [cls, sep, 0])
    np.testing.assert_array_equal(ids[1, :3], [cls, sep, 0])
    assert set(ids[2, 1:3]) == {unk}
    logits = tiny_classifier().predict(inputs, verbose=0)
    assert logits.shape == (5, 2) and np.isfinite(logits).all()


def test_saved_model_refuses_bad_ids_the_same_way(classifier, tmp_path):
    folder = tmp_path / "saved"
    to_saved_model(classifier, folder)
    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    good = serve(**{k: tf.constant(v) for k, v in bert_inputs(GOOD).items()})
    assert np.isfinite(good["logits"].numpy()).all()
    for ids in (TOO_LARGE, NEGATIVE):
        feed = {k: tf.constant(v) for k, v in bert_inputs(ids).items()}
        with pytest.raises(tf.errors.InvalidArgumentError, match="token_ids"):
            serve(**feed)


# Run in a child process: a crash inside the interpreter must fail the
# test, not end pytest. Prints one JSON line of what each feed did.
LITERT_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    path, good = sys.argv[1], json.loads(sys.argv[2])
    interpreter = Interpreter(model_path=path, num_threads=1)
    interpreter.allocate_tensors()
    inputs = {d["name"]: d for d in interpreter.get_input_details()}
    output = interpreter.get_output_details()[0]["index"]

    def feed(token_ids, segment_ids=None, dtype=np.int32):
        token_ids = np.asarray(token_ids, dtype)
        arrays = {
            "token_ids": token_ids,
            "segment_ids": np.zeros_like(token_ids)
            if segment_ids is None else np.asarray(segment_ids, dtype),
            "padding_mask": np.ones_like(token_ids),
        }
        for name, detail in inputs.items():
            key = next(k for k in arrays if k in name)
            interpreter.set_tensor(detail["index"], arrays[key])
        interpreter.invoke()
        return interpreter.get_tensor(output).tolist()

    size = int(sys.argv[3])
    cases = {
        "too_large": [[2, 7, size, 3, 0, 0, 0, 0]],
        "negative": [[2, 7, -1, 3, 0, 0, 0, 0]],
        "int32_max": [[2, 7, 2**31 - 1, 3, 0, 0, 0, 0]],
        "int32_min": [[-(2**31), 7, 1, 3, 0, 0, 0, 0]],
        "bad_segment": (good, [[0, 0, 5, 0, 0, 0, 0, 0]]),
        "too_long": [[2] * 9],
        "wrong_rank": [good],
        "float_ids": (good, None, np.float32),
    }
    results = {"first": feed(good)}
    for name, case in cases.items():
        args = case if isinstance(case, tuple) else (case,)
        try:
            results[name] = ["ok", feed(*args)]
        except Exception as error:
            results[name] = [type(error).__name__, str(error)[:200]]
    results["after"] = feed(good)
    print(json.dumps(results))
    """
)


def test_litert_interpreter_refuses_bad_inputs_and_survives(
    classifier, tmp_path
):
    path = tmp_path / "classifier.tflite"
    to_tflite(classifier, path, sequence_length=LENGTH, measure_latency=False)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            LITERT_CHILD,
            str(path),
            json.dumps(GOOD),
            str(len(VOCABULARY)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    results = json.loads(child.stdout.strip().splitlines()[-1])
    for name in ("too_large", "negative", "int32_max", "int32_min"):
        assert results[name][0] == "RuntimeError", (name, results[name])
        assert "gather index out of bounds" in results[name][1]
    assert results["bad_segment"][0] == "RuntimeError"
    for name in ("too_long", "wrong_rank", "float_ids"):
        assert results[name][0] == "ValueError", (name, results[name])
    # The interpreter is still usable, and still right, after the errors.
    assert results["after"] == results["first"]
    want = classifier.predict(bert_inputs(GOOD), verbose=0)
    np.testing.assert_allclose(results["first"], want, atol=1e-4)
