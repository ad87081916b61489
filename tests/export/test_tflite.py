"""`to_tflite` checked with the LiteRT interpreter directly.

The reference for every file is the Keras model it came from, run here,
and the file is read back with `ai_edge_litert`'s own `Interpreter` (not
our runner): its operator list, tensor types and outputs. Conversions run
in a child process, so each test costs a few seconds.
"""

import collections
import os
import resource
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
import tiny_models
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.interpreter import OpResolverType

from keras_attn import _compat
from keras_attn import models
from keras_attn.export import UnsupportedOpsError
from keras_attn.export import _convert
from keras_attn.export import _specs
from keras_attn.export import calibration
from keras_attn.export import inspect_tflite
from keras_attn.export import lowering
from keras_attn.export import saved_model
from keras_attn.export import to_tflite
from keras_attn.layers import TransformerEncoder

LENGTH = 16
VOCABULARY = 120


def bert_inputs(rows, length=LENGTH, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCABULARY, size=(rows, length)).astype("int32")
    for row in range(rows):
        ids[row, rng.integers(1, length + 1) :] = 0
    return {
        "token_ids": ids,
        "segment_ids": (rng.random((rows, length)) < 0.5).astype("int32")
        * (ids != 0),
        "padding_mask": (ids != 0).astype("int32"),
    }


def small_bert():
    return models.bert_backbone(
        num_layers=2,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
        vocabulary_size=VOCABULARY,
        max_sequence_length=32,
    )


def run_file(path, inputs, signature="serving_default"):
    """Runs one row at a time through the interpreter; stacks the rows."""
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    runner = interpreter.get_signature_runner(signature)
    rows = len(next(iter(inputs.values())))
    outputs = collections.defaultdict(list)
    for row in range(rows):
        result = runner(**{k: v[row : row + 1] for k, v in inputs.items()})
        for name, value in result.items():
            outputs[name].append(value)
    return {name: np.concatenate(value) for name, value in outputs.items()}


def op_names(path):
    interpreter = Interpreter(model_path=str(path))
    return collections.Counter(
        op["op_name"] for op in interpreter._get_ops_details()
    )


@pytest.fixture(scope="module")
def bert():
    keras.utils.set_random_seed(7)
    return small_bert()


@pytest.fixture(scope="module")
def bert_float32(bert, tmp_path_factory):
    path = tmp_path_factory.mktemp("bert") / "bert.tflite"
    report = to_tflite(bert, path, sequence_length=LENGTH, latency_runs=3)
    return path, report


def test_float32_equals_keras_with_builtin_ops_and_static_shapes(
    bert, bert_float32
):
    path, report = bert_float32
    inputs = bert_inputs(6, seed=1)
    got = run_file(path, inputs)
    want = bert(inputs)
    for name in ("sequence_output", "pooled_output"):
        diff = np.max(np.abs(got[name] - np.asarray(want[name])))
        assert diff <= 1e-4, (name, diff)
    ops = op_names(path)
    assert not [name for name in ops if name.startswith("Flex")]
    # Fixed shapes: nothing computes a shape at run time.
    assert not {"SHAPE", "REDUCE_PROD", "PACK"} & set(ops)
    assert dict(ops) == report.ops  # our flatbuffer count, their reading
    assert report.non_builtin_ops == {}
    assert report.size_bytes == os.path.getsize(path)
    assert report.max_abs_diff["sequence_output"] <= 1e-4
    assert report.latency_ms > 0


def test_report_prints_and_saves(bert_float32, tmp_path):
    _, report = bert_float32
    text = str(report)
    assert "FULLY_CONNECTED" in text and "latency" in text
    report.save(tmp_path / "report.json")
    import json

    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["ops"] == report.ops
    assert saved["max_abs_diff"] == report.max_abs_diff


def test_inspect_reads_signature_and_ops(bert_float32):
    path, report = bert_float32
    info = inspect_tflite(path)
    inputs = info["signatures"]["serving_default"]["inputs"]
    assert inputs["token_ids"] == {"shape": [1, LENGTH], "dtype": "int32"}
    outputs = info["signatures"]["serving_default"]["outputs"]
    assert outputs["sequence_output"]["shape"] == [1, LENGTH, 32]
    assert info["ops"] == report.ops


def test_dynamic_length_runs_at_several_lengths(bert, tmp_path):
    path = tmp_path / "dynamic.tflite"
    to_tflite(bert, path, sequence_length="dynamic", measure_latency=False)
    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")
    signature = runner.get_input_details()["token_ids"]
    assert list(signature["shape_signature"]) == [1, -1]
    for length in (5, 23):
        inputs = bert_inputs(1, length=length, seed=length)
        got = runner(**inputs)
        want = bert(inputs)
        diff = np.max(np.abs(got["sequence_output"] - want["sequence_output"]))
        assert diff <= 1e-4
        assert got["sequence_output"].shape == (1, length, 32)


# -- The length the model was trained at ------------------------------------

TASK_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "cat", "sat", "on", "mat", "a", "dog",
] + [f"w{i}" for i in range(VOCABULARY - 12)]  # fmt: skip


def bert_task(length):
    """A classifier of `small_bert` (32 positions, inputs of unknown
    length) holding keras-hub's preprocessor of `length` tokens and class
    names, as a task (keras-hub's or keras_attn's) holds them."""
    import keras_hub

    model = models.bert_text_classifier(small_bert(), num_classes=2)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=TASK_VOCAB)
    model.preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=length
    )
    model.class_names = ["neg", "pos"]
    return model


def length_notes(caught):
    return [
        str(w.message) for w in caught if "sequence length" in str(w.message)
    ]


def test_unknown_length_is_refused_before_tracing(bert, tmp_path, monkeypatch):
    from keras_attn.export import tflite

    def traced(*args, **kwargs):
        raise AssertionError("the model was traced")

    monkeypatch.setattr(tflite, "_to_tflite", traced)
    path = tmp_path / "x.tflite"
    with pytest.raises(ValueError) as refused:
        to_tflite(bert, path)
    message = str(refused.value)
    assert "\n" not in message and "unknown length" in message
    assert "expected `sequence_length` as an int, at most 32" in message
    assert '"dynamic"' in message and message.endswith("received None.")
    with pytest.raises(
        ValueError,
        match="holds 32 positions; expected `sequence_length` of at most 32, "
        "received 33",
    ):
        to_tflite(bert, path, sequence_length=33)
    assert not path.exists()


def test_a_task_exports_at_the_length_it_was_trained_at(tmp_path):
    task = bert_task(12)
    path = tmp_path / "task.tflite"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        to_tflite(task, path, measure_latency=False, num_samples=1)
    assert length_notes(caught) == []
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    shapes = {
        name: list(details["shape_signature"])
        for name, details in runner.get_input_details().items()
    }
    assert shapes == {
        "token_ids": [1, 12],
        "segment_ids": [1, 12],
        "padding_mask": [1, 12],
    }
    # The file runs on what the task's own preprocessor makes of text.
    features = task.preprocessor(["the cat sat on the mat", "a dog w7 w8"])
    inputs = {k: np.asarray(v).astype("int32") for k, v in features.items()}
    assert inputs["token_ids"].shape == (2, 12)
    got = run_file(path, inputs)["logits"]
    assert np.max(np.abs(got - np.asarray(task(inputs)))) <= 1e-4


def test_another_length_than_the_trained_one_is_said_once(tmp_path):
    path = tmp_path / "longer.tflite"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = to_tflite(
            bert_task(12),
            path,
            sequence_length=20,
            measure_latency=False,
            num_samples=1,
        )
    (note,) = length_notes(caught)
    assert "sequence length 20" in note and "trained at 12" in note
    assert report.inputs["token_ids"]["shape"] == [1, 20]


def test_a_translator_takes_no_dynamic_length(tmp_path):
    with pytest.raises(ValueError, match="fixed number of source ids"):
        to_tflite(
            tiny_models.translator(),
            tmp_path / "translator.tflite",
            sequence_length="dynamic",
        )


def test_float16_halves_the_file_within_1e_2(bert, bert_float32, tmp_path):
    path = tmp_path / "half.tflite"
    report = to_tflite(
        bert,
        path,
        quantization="float16",
        sequence_length=LENGTH,
        measure_latency=False,
    )
    inputs = bert_inputs(4, seed=3)
    got = run_file(path, inputs)
    diff = np.max(
        np.abs(
            got["sequence_output"] - np.asarray(bert(inputs)["sequence_output"])
        )
    )
    assert diff <= 1e-2
    interpreter = Interpreter(model_path=str(path))
    stored = {
        d["dtype"]
        for d in interpreter.get_tensor_details()
        if tuple(d["shape"]) == (64, 32)
    }  # the (out, in) FFN kernels
    assert np.float16 in stored
    # The lookup tables stay float32 (LiteRT's GPU accelerator refuses a
    # GATHER on a float16 table); every other weight shrinks by half, and
    # this tiny graph's structure does not.
    details = interpreter.get_tensor_details()
    tables = [
        details[op["inputs"][0]]
        for op in interpreter._get_ops_details()
        if op["op_name"] == "GATHER"
    ]
    assert len(tables) == 2  # tokens and segments
    assert all(d["dtype"] == np.float32 for d in tables), tables
    table_bytes = sum(np.prod(d["shape"]) * 4 for d in tables)
    rest = bert_float32[1].size_bytes - table_bytes
    assert report.size_bytes < 0.7 * rest + table_bytes


def test_float16_masked_lm_keeps_its_tied_table_for_the_output(tmp_path):
    # The masked LM reads one table twice (GATHER for the input, MATMUL
    # for the output logits). The converter shares one float16 buffer
    # between both; restoring the GATHER's table in float32 must leave
    # the MATMUL's copy in place ("Input tensor ... lacks data" before).
    keras.utils.set_random_seed(2)
    model = models.bert_masked_lm(small_bert())
    path = tmp_path / "masked_lm.tflite"
    to_tflite(
        model,
        path,
        quantization="float16",
        sequence_length=LENGTH,
        measure_latency=False,
    )
    inputs = bert_inputs(2, seed=4)
    inputs["mask_positions"] = np.tile(
        np.arange(LENGTH, dtype="int32") % 3, (2, 1)
    )
    got = run_file(path, inputs)
    want = model(inputs)
    name = next(iter(got))
    want = np.asarray(want[name] if isinstance(want, dict) else want)
    assert np.all(np.isfinite(got[name]))
    scale = max(1.0, float(np.max(np.abs(want))))
    assert np.max(np.abs(got[name] - want)) <= 1e-2 * scale


def test_dynamic_int8_stores_int8_weights(bert, bert_float32, tmp_path):
    path = tmp_path / "dynamic_int8.tflite"
    report = to_tflite(
        bert,
        path,
        quantization="dynamic_int8",
        sequence_length=LENGTH,
        measure_latency=False,
    )
    interpreter = Interpreter(model_path=str(path))
    weights = [
        detail
        for detail in interpreter.get_tensor_details()
        if len(detail["shape"]) == 2
        and detail["shape"][1] == 32
        and detail["shape"][0] == 64
    ]
    assert weights and all(w["dtype"] == np.int8 for w in weights)
    assert report.size_bytes < 0.6 * bert_float32[1].size_bytes
    # Activations stay float: outputs stay near the float model's.
    assert report.max_rel_diff["sequence_output"] < 0.1


def test_full_int8_from_a_tf_data_pipeline(bert, tmp_path):
    # Calibration from a pipeline of (inputs, labels) batches of length 24,
    # cut to the exported 16.
    inputs = bert_inputs(40, length=24, seed=4)
    labels = np.zeros(40, "int32")
    dataset = tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(8)
    path = tmp_path / "int8.tflite"
    report = to_tflite(
        bert,
        path,
        quantization="int8",
        representative_data=dataset,
        sequence_length=LENGTH,
        measure_latency=False,
    )
    interpreter = Interpreter(model_path=str(path))
    tensors = interpreter.get_tensor_details()
    fully_connected = [
        op
        for op in interpreter._get_ops_details()
        if op["op_name"] == "FULLY_CONNECTED"
    ]
    assert fully_connected
    for op in fully_connected:  # int8 in, int8 weights: integer kernels
        assert tensors[op["inputs"][0]]["dtype"] == np.int8
        assert tensors[op["inputs"][1]]["dtype"] == np.int8
    # The interface stays as the Keras model's.
    details = interpreter.get_signature_runner().get_input_details()
    assert details["token_ids"]["dtype"] == np.int32
    assert report.max_rel_diff["pooled_output"] < 0.25
    # Traced for integer activations: the attention's masked scores are
    # filled near the scores (Keras's fused op fills about -3.4e38, which
    # gave that tensor an int8 step of about 1e36), and layer norm has no
    # SQUARED_DIFFERENCE or NEG, which run slowly in int8.
    widest = max(
        t["quantization_parameters"]["scales"].max() * 255
        for t in tensors
        if t["dtype"] == np.int8 and t["quantization_parameters"]["scales"].size
    )
    assert widest < 1e3, widest
    assert "SOFTMAX" in report.ops
    assert "SQUARED_DIFFERENCE" not in report.ops and "NEG" not in report.ops


def test_int8_ranges_are_the_ranges_of_the_calibration_values(bert, tmp_path):
    # TensorFlow's calibrator records some tensors after a later operator
    # reused their memory: in this model it gave the attention's output
    # projection a range of 6.4 where its values spanned 0.04. The
    # reference is the same graph converted to float32 and run here on
    # the same rows with every tensor kept.
    data = bert_inputs(16, seed=8)
    path = tmp_path / "int8.tflite"
    to_tflite(
        bert,
        path,
        quantization="int8",
        representative_data=data,
        sequence_length=LENGTH,
        measure_latency=False,
    )
    specs = _specs.input_specs(bert, 1, LENGTH)
    batches = _specs.collect(data, specs, 100)
    lowered = lowering.lower(
        bert,
        "int8",
        residual_scales=calibration.residual_scales(bert, batches),
    )
    saved_model.write_saved_model(
        tmp_path / "traced",
        {"serving_default": saved_model.model_endpoint(lowered, specs)},
        [bert],
    )
    float_path = tmp_path / "float.tflite"
    result = _convert.convert(
        {
            "saved_model": str(tmp_path / "traced"),
            "signature": "serving_default",
            "quantization": None,
            "candidate": str(float_path),
        }
    )
    assert result["ok"], result
    reference = Interpreter(
        model_path=str(float_path),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=(
            OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        ),
    )
    runner = reference.get_signature_runner()
    names = {t["index"]: t["name"] for t in reference.get_tensor_details()}
    low, high = {}, {}
    for batch in batches:
        runner(**batch)
        for index, name in names.items():
            values = reference.get_tensor(index)
            if values.dtype == np.float32 and values.size:
                low[name] = min(low.get(name, 0.0), float(values.min()))
                high[name] = max(high.get(name, 0.0), float(values.max()))
    quantized = Interpreter(model_path=str(path))
    tensors = quantized.get_tensor_details()
    checked = 0
    for op in quantized._get_ops_details():
        # Operators whose output range is free (the attention scores'
        # BATCH_MATMUL shares its scale with the masked fill after it).
        if op["op_name"] not in ("FULLY_CONNECTED", "ADD"):
            continue
        tensor = tensors[op["outputs"][0]]
        if tensor["name"] not in low:
            continue
        width = tensor["quantization_parameters"]["scales"][0] * 255
        want = high[tensor["name"]] - low[tensor["name"]]
        assert width == pytest.approx(want, rel=0.02), tensor["name"]
        checked += 1
    assert checked >= 10, checked


WIDE = 5  # the channel made wide in `wide_channel_bert`


def wide_channel_bert():
    """`small_bert` with channel WIDE of every feed-forward output about
    40 in every token, as channel 99 of a trained MiniLM reaches 220."""
    keras.utils.set_random_seed(11)
    model = small_bert()
    tiny_models.plant_wide_channels(model, residual=WIDE)
    return model


def encoder_blocks(model):
    return [
        layer
        for layer in _compat.flatten_layers(model)
        if isinstance(layer, TransformerEncoder)
    ]


def calibration_batches(model, rows=16):
    specs = _specs.input_specs(model, 1, LENGTH)
    return _specs.collect(bert_inputs(rows, seed=8), specs, 100)


def test_residual_scales_divide_down_only_the_wide_channel(bert):
    model = wide_channel_bert()
    scales = calibration.residual_scales(model, calibration_batches(model))
    blocks = encoder_blocks(model)
    assert {id(block) for block in scales} == {id(block) for block in blocks}
    for block_scales in scales.values():
        wide = block_scales > 1
        assert wide[WIDE] and block_scales[WIDE] > 10
        assert wide.sum() == 1, np.flatnonzero(wide)
    # Without wide channels (random weights) nothing is scaled, and
    # pre-norm blocks are never observed.
    assert calibration.residual_scales(bert, calibration_batches(bert)) == {}
    vit = models.vit_classifier(3, "vit_digits")
    images = np.random.default_rng(5).random((4, 8, 8, 1)) * 50
    batches = [{"images": images.astype("float32")}]
    assert calibration.residual_scales(vit, batches) == {}


def test_feedforward_traced_for_int8_keeps_its_results():
    model = wide_channel_bert()
    scales = calibration.residual_scales(model, calibration_batches(model))
    inputs = bert_inputs(4, seed=3)
    want = model(inputs)
    got = lowering.lower(model, "int8", residual_scales=scales)(inputs)
    for name in want:
        np.testing.assert_allclose(
            np.asarray(got[name]), np.asarray(want[name]), atol=1e-5, rtol=0
        )


def int8_file(model, path, data):
    """`model` exported to `path` in full int8, calibrated on `data`; an
    interpreter of the file."""
    to_tflite(
        model,
        path,
        quantization="int8",
        representative_data=data,
        sequence_length=LENGTH,
        measure_latency=False,
    )
    return Interpreter(model_path=str(path))


def leave_out_int8_option(monkeypatch, name):
    """Later int8 exports measure everything but `name` (an empty one)."""
    measured = calibration.int8_options
    monkeypatch.setattr(
        calibration,
        "int8_options",
        lambda *args: {**measured(*args), name: {}},
    )


def test_int8_residual_sum_is_stored_divided_down(tmp_path, monkeypatch):
    # With the wide channel divided down, no int8 tensor needs the range
    # that the channel's square gave the layer norm's statistics.
    model = wide_channel_bert()
    data = bert_inputs(16, seed=8)

    def widest(path):
        return max(
            t["quantization_parameters"]["scales"].max() * 255
            for t in int8_file(model, path, data).get_tensor_details()
            if t["dtype"] == np.int8
            and t["quantization_parameters"]["scales"].size
        )

    scaled = widest(tmp_path / "scaled.tflite")
    leave_out_int8_option(monkeypatch, "residual_scales")
    plain = widest(tmp_path / "plain.tflite")
    assert scaled < plain / 4, (scaled, plain)


def dense_input_range(interpreter, weights):
    """The widest int8 input range of the FULLY_CONNECTED operators whose
    weight shape (a list) `weights(shape)` accepts; one per block."""
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    ranges = []
    for op in interpreter._get_ops_details():
        if op["op_name"] != "FULLY_CONNECTED":
            continue
        if weights(tensors[op["inputs"][1]]["shape"].tolist()):
            scales = tensors[op["inputs"][0]]["quantization_parameters"]
            ranges.append(float(scales["scales"].max()) * 255)
    assert len(ranges) == 2, ranges  # one per block
    return max(ranges)


HIDDEN_WIDE = 7  # the hidden channel made wide in `wide_hidden_bert`


def wide_hidden_bert():
    """`small_bert` with hidden channel HIDDEN_WIDE of every feed-forward
    layer about 30 after its GELU in every token (a fine-tuned MiniLM's
    layer 0 reaches 24 where most channels stay under 2), and its weight
    into the output projection small, so the block's output is ordinary."""
    keras.utils.set_random_seed(12)
    model = small_bert()
    tiny_models.plant_wide_channels(model, hidden=HIDDEN_WIDE)
    return model


def test_hidden_splits_set_apart_only_the_wide_hidden_channel(bert):
    model = wide_hidden_bert()
    splits = calibration.hidden_splits(model, calibration_batches(model))
    blocks = encoder_blocks(model)
    assert {id(block) for block in splits} == {id(block) for block in blocks}
    for wide in splits.values():
        assert np.flatnonzero(wide).tolist() == [HIDDEN_WIDE]
    # Random weights have no wide hidden channel.
    assert calibration.hidden_splits(bert, calibration_batches(bert)) == {}


@pytest.mark.parametrize(
    "option", ["hidden_splits", "norm_divisors"], ids=["hidden", "norm"]
)
def test_feedforward_split_for_int8_keeps_its_results(option):
    model = {
        "hidden_splits": wide_hidden_bert,
        "norm_divisors": wide_norm_bert,
    }[option]()
    options = calibration.int8_options(model, calibration_batches(model))
    assert options[option]
    inputs = bert_inputs(4, seed=3)
    want = model(inputs)
    got = lowering.lower(model, "int8", **options)(inputs)
    for name in want:
        np.testing.assert_allclose(
            np.asarray(got[name]), np.asarray(want[name]), atol=1e-5, rtol=0
        )


def test_int8_hidden_split_keeps_the_ordinary_channels_range(
    tmp_path, monkeypatch
):
    # One int8 range for all hidden channels gives the ordinary ones
    # steps of 30/255; with the wide channel apart, the tensor of the
    # ordinary channels that goes into the output projection keeps a range
    # of its own.
    model = wide_hidden_bert()
    data = bert_inputs(16, seed=8)

    def hidden_range(path, width):
        # (out, in) weights: the output projection's
        return dense_input_range(
            int8_file(model, path, data), lambda shape: shape[-1] == width
        )

    split = hidden_range(tmp_path / "split.tflite", 63)
    leave_out_int8_option(monkeypatch, "hidden_splits")
    whole = hidden_range(tmp_path / "whole.tflite", 64)
    assert whole > 25 and split < whole / 4, (split, whole)


NORM_WIDE = 5  # the attention norm channel made wide in `wide_norm_bert`


def wide_norm_bert():
    """`small_bert` with channel NORM_WIDE of every attention layer norm's
    output about 25 in every token."""
    keras.utils.set_random_seed(13)
    model = small_bert()
    tiny_models.plant_wide_channels(model, norm=NORM_WIDE)
    return model


def test_norm_divisors_set_apart_only_the_wide_norm_channel(bert):
    model = wide_norm_bert()
    options = calibration.int8_options(model, calibration_batches(model))
    divisors = options["norm_divisors"]
    blocks = encoder_blocks(model)
    assert {id(block) for block in divisors} == {id(block) for block in blocks}
    for block_divisors in divisors.values():
        assert np.flatnonzero(block_divisors > 1).tolist() == [NORM_WIDE]
        assert block_divisors[NORM_WIDE] > 5
    # Random weights have no wide norm channel.
    random = calibration.int8_options(bert, calibration_batches(bert))
    assert random["norm_divisors"] == {}


def test_int8_norm_split_keeps_the_ordinary_channels_range(
    tmp_path, monkeypatch
):
    # The feed-forward layer's input is the attention norm's output: with
    # one range for all channels the wide one (25) sets it; divided, the
    # tensor keeps the ordinary channels' range.
    model = wide_norm_bert()
    data = bert_inputs(16, seed=8)

    def input_range(path):
        # (out, in) weights (64, 32): the first dense layer's
        return dense_input_range(
            int8_file(model, path, data), lambda shape: shape == [64, 32]
        )

    split = input_range(tmp_path / "split.tflite")
    leave_out_int8_option(monkeypatch, "norm_divisors")
    whole = input_range(tmp_path / "whole.tflite")
    assert whole > 25 and split < whole / 3, (split, whole)


def test_int8_needs_representative_data(bert, tmp_path):
    with pytest.raises(ValueError, match="representative_data"):
        to_tflite(bert, tmp_path / "x.tflite", quantization="int8")


def test_calibration_data_with_missing_inputs_is_refused(bert, tmp_path):
    data = {"token_ids": np.ones((4, LENGTH), "int32")}
    with pytest.raises(ValueError, match="lacks inputs"):
        to_tflite(
            bert,
            tmp_path / "x.tflite",
            quantization="int8",
            representative_data=data,
            sequence_length=LENGTH,
        )


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"quantization": "int4"}, "quantization"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_arguments(bert, tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        to_tflite(bert, tmp_path / "x.tflite", **arguments)


def test_output_must_be_a_tflite_file(bert, tmp_path):
    with pytest.raises(ValueError, match=r"\.tflite"):
        to_tflite(bert, tmp_path / "model.bin")


@keras.saving.register_keras_serializable(package="tests")
class Determinant(keras.layers.Layer):
    """A layer whose TensorFlow op has no TFLite builtin."""

    def call(self, x):
        return tf.linalg.det(x)


def flex_model():
    inputs = keras.Input((3, 3), name="matrix")
    return keras.Model(inputs, Determinant()(inputs))


def test_flex_ops_are_refused_by_name_and_nothing_is_overwritten(tmp_path):
    path = tmp_path / "det.tflite"
    path.write_bytes(b"an earlier good file")
    with pytest.raises(UnsupportedOpsError, match="MatrixDeterminant") as error:
        to_tflite(flex_model(), path)
    assert any("MatrixDeterminant" in name for name in error.value.ops)
    assert path.read_bytes() == b"an earlier good file"


def test_flex_ops_can_be_allowed_explicitly(tmp_path):
    path = tmp_path / "det.tflite"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = to_tflite(flex_model(), path, allow_flex=True)
    assert any("non-builtin" in str(w.message) for w in caught)
    assert any("MatrixDeterminant" in name for name in report.non_builtin_ops)
    assert path.exists()


def test_vit_and_text_classifier_float32(tmp_path):
    vit = models.vit_classifier(10, "vit_digits")
    images = np.random.default_rng(5).random((3, 8, 8, 1)).astype("float32")
    path = tmp_path / "vit.tflite"
    report = to_tflite(
        vit,
        path,
        sample_data={"images": images},
        num_samples=3,
        measure_latency=False,
    )
    got = run_file(path, {"images": images})
    (name,) = got
    assert np.max(np.abs(got[name] - np.asarray(vit(images)))) <= 1e-4
    assert report.samples == 3

    classifier = models.bert_text_classifier(small_bert(), num_classes=3)
    path = tmp_path / "classifier.tflite"
    to_tflite(classifier, path, sequence_length=LENGTH, measure_latency=False)
    inputs = bert_inputs(3, seed=6)
    got = run_file(path, inputs)
    (name,) = got
    assert np.max(np.abs(got[name] - np.asarray(classifier(inputs)))) <= 1e-4


def test_on_device_translator_matches_greedy_decode(tmp_path):
    from keras_attn.models.decoding import greedy_decode
    from keras_attn.models.translation import END_ID
    from keras_attn.models.translation import START_ID

    translator = tiny_models.translator()
    sentences = tiny_models.TRANSLATOR_SENTENCES
    path = tmp_path / "translator.tflite"
    report = to_tflite(translator, path, measure_latency=False)
    assert "WHILE" in report.ops and report.non_builtin_ops == {}
    assert report.max_abs_diff == {"tokens": 0.0}
    source = np.asarray(translator.encode_source(tf.constant(sentences)))
    got = run_file(path, {"source_ids": source})["tokens"]
    want = np.asarray(
        greedy_decode(translator.model, source, 6, START_ID, END_ID)
    )
    np.testing.assert_array_equal(got, want)


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_conversions_run_in_a_worker_that_is_replaced_when_it_grows(
    tmp_path, monkeypatch
):
    from keras_attn.export import converter

    model = small_bert()
    to_tflite(
        model,
        tmp_path / "0.tflite",
        sequence_length=LENGTH,
        measure_latency=False,
        num_samples=1,
    )
    first = converter._worker.process.pid
    before = _rss_mb()
    to_tflite(
        model,
        tmp_path / "1.tflite",
        sequence_length=LENGTH,
        measure_latency=False,
        num_samples=1,
    )
    assert converter._worker.process.pid == first  # reused while small
    # The converter's memory stays in the worker: this process grows by
    # the traced graphs only, far below one TensorFlow import.
    assert _rss_mb() - before < 100
    monkeypatch.setattr(converter, "WORKER_MAX_RSS_MB", 1)
    to_tflite(
        model,
        tmp_path / "2.tflite",
        sequence_length=LENGTH,
        measure_latency=False,
        num_samples=1,
    )
    assert converter._worker is None  # over the bound: ended after the job
    assert not_running(first)  # ended and reaped, its memory returned


def not_running(pid):
    """Whether `pid` has ended (and was reaped by its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_selected_ops_can_stay_float_in_int8(bert, tmp_path):
    data = bert_inputs(16, seed=8)
    path = tmp_path / "mixed.tflite"
    report = to_tflite(
        bert,
        path,
        quantization="int8",
        representative_data=data,
        sequence_length=LENGTH,
        float_ops=["BATCH_MATMUL"],
        measure_latency=False,
    )
    interpreter = Interpreter(model_path=str(path))
    tensors = interpreter.get_tensor_details()
    kinds = collections.defaultdict(set)
    for op in interpreter._get_ops_details():
        if op["op_name"] in ("BATCH_MATMUL", "FULLY_CONNECTED"):
            kinds[op["op_name"]].add(tensors[op["inputs"][1]]["dtype"])
    assert kinds["BATCH_MATMUL"] == {np.float32}
    assert kinds["FULLY_CONNECTED"] == {np.int8}
    assert report.max_rel_diff["pooled_output"] < 0.25
    with pytest.raises(ValueError, match="float_ops"):
        to_tflite(bert, tmp_path / "x.tflite", float_ops=["SOFTMAX"])


def test_relative_paths_follow_the_working_directory(tmp_path, monkeypatch):
    # The converter's worker outlives the first export; a relative path
    # given after a chdir must land in the new working directory.
    model = models.bert_backbone(
        num_layers=1,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        vocabulary_size=VOCABULARY,
        max_sequence_length=8,
    )
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.chdir(folder)
        to_tflite(
            model, "bert.tflite", sequence_length=8, measure_latency=False
        )
        assert (folder / "bert.tflite").stat().st_size > 0
