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
import tiny_models

from keras_attn import models
from keras_attn.export import to_saved_model
from keras_attn.export import to_tflite

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the a movie film was is good bad great not very ! ."
).split()
LENGTH = 8


def tiny_classifier():
    return tiny_models.bert_classifier(len(VOCABULARY), LENGTH, seed=5)


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
# test, not end pytest. The child is given the file and a list of named
# feeds (input name -> nested list and dtype); it runs the first feed,
# every other feed, then the first again, and prints one JSON line of
# what each did: ["ok", outputs] or [error class, message].
LITERT_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=sys.argv[1], num_threads=1)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    output = interpreter.get_output_details()[0]["index"]

    def feed(arrays):
        for detail in inputs:
            key = next(k for k in arrays if k in detail["name"])
            value, dtype = arrays[key]
            interpreter.set_tensor(detail["index"], np.asarray(value, dtype))
        interpreter.invoke()
        return interpreter.get_tensor(output).tolist()

    def attempt(arrays):
        try:
            return ["ok", feed(arrays)]
        except Exception as error:
            return [type(error).__name__, str(error)[:200]]

    feeds = json.loads(sys.argv[2])
    (_, first), *others = feeds
    results = {"first": attempt(first)}
    for name, arrays in others:
        results[name] = attempt(arrays)
    results["after"] = attempt(first)
    print(json.dumps(results))
    """
)


def run_litert_child(path, feeds):
    """Runs `feeds` ((name, {input: (list, dtype)}) pairs) on `path`."""
    child = subprocess.run(
        [sys.executable, "-c", LITERT_CHILD, str(path), json.dumps(feeds)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    results = json.loads(child.stdout.strip().splitlines()[-1])
    # The interpreter is still usable, and still right, after the errors.
    assert results["first"][0] == "ok", results["first"]
    assert results["after"] == results["first"]
    return results


def bert_feed(token_ids, segment_ids=None, dtype="int32"):
    arrays = {k: v.tolist() for k, v in bert_inputs(token_ids).items()}
    if segment_ids is not None:
        arrays["segment_ids"] = segment_ids
    return {k: (v, dtype) for k, v in arrays.items()}


def test_litert_interpreter_refuses_bad_inputs_and_survives(
    classifier, tmp_path
):
    path = tmp_path / "classifier.tflite"
    to_tflite(classifier, path, sequence_length=LENGTH, measure_latency=False)
    feeds = [
        ("good", bert_feed(GOOD)),
        ("too_large", bert_feed(TOO_LARGE)),
        ("negative", bert_feed(NEGATIVE)),
        ("int32_max", bert_feed([[2, 7, 2**31 - 1, 3, 0, 0, 0, 0]])),
        ("int32_min", bert_feed([[-(2**31), 7, 1, 3, 0, 0, 0, 0]])),
        ("bad_segment", bert_feed(GOOD, [[0, 0, 5, 0, 0, 0, 0, 0]])),
        ("too_long", bert_feed([[2] * 9])),
        ("wrong_rank", bert_feed(GOOD[0])),
        ("float_ids", bert_feed(GOOD, dtype="float32")),
    ]
    results = run_litert_child(path, feeds)
    for name in ("too_large", "negative", "int32_max", "int32_min"):
        assert results[name][0] == "RuntimeError", (name, results[name])
        assert "gather index out of bounds" in results[name][1]
    assert results["bad_segment"][0] == "RuntimeError"
    for name in ("too_long", "wrong_rank", "float_ids"):
        assert results[name][0] == "ValueError", (name, results[name])
    want = classifier.predict(bert_inputs(GOOD), verbose=0)
    np.testing.assert_allclose(results["first"][1], want, atol=1e-4)


def test_on_device_translator_refuses_bad_source_ids(tmp_path):
    """The greedy loop inside the .tflite file starts from the encoder's
    gather, so a bad source id stops the call before any decoding."""
    from keras_attn.models.translator import END_ID
    from keras_attn.models.translator import START_ID
    from keras_attn.models.translator import greedy_decode

    translator = tiny_models.translator()
    path = tmp_path / "translator.tflite"
    to_tflite(translator, path, measure_latency=False)
    sentence = tf.constant(["one two three"])
    source = np.asarray(translator.encode_source(sentence))
    bad = source.copy()
    bad[0, 1] = 24  # one past the last id
    negative = source.copy()
    negative[0, 1] = -3
    feeds = [
        ("good", {"source_ids": (source.tolist(), "int32")}),
        ("too_large", {"source_ids": (bad.tolist(), "int32")}),
        ("negative", {"source_ids": (negative.tolist(), "int32")}),
        ("too_long", {"source_ids": ([[2] * 9], "int32")}),
    ]
    results = run_litert_child(path, feeds)
    for name in ("too_large", "negative"):
        assert results[name][0] == "RuntimeError", (name, results[name])
        assert "gather index out of bounds" in results[name][1]
    assert results["too_long"][0] == "ValueError", results["too_long"]
    want = greedy_decode(translator.model, source, 6, START_ID, END_ID)
    np.testing.assert_array_equal(results["first"][1], np.asarray(want))
