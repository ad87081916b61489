"""benchmarks/tflite_op_profile.py on small files.

A one-layer BERT exported with `to_tflite` in float32 and full int8, and a
WHILE loop converted straight from a `tf.function` (three subgraphs in a
fraction of a second). Timings use one to three invokes: the report's
structure is checked, and no time against a bar (only that a WHILE of
2000 steps takes longer than one of 5).
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tiny_models
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.tools import flatbuffer_utils

from keras_attn.export import inspect_tflite
from keras_attn.export import to_tflite

SCRIPT = (
    Path(__file__).resolve().parents[2] / "benchmarks" / "tflite_op_profile.py"
)
LENGTH = 16
VOCABULARY = 50


def _load_script():
    spec = importlib.util.spec_from_file_location("tflite_op_profile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


op_profile = _load_script()


def bert_feeds(seed):
    """One row of ids with a padded tail, its mask and segment ids."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCABULARY, (1, LENGTH)).astype("int32")
    ids[0, rng.integers(LENGTH // 2, LENGTH) :] = 0
    return {
        "token_ids": ids,
        "segment_ids": (rng.random((1, LENGTH)) < 0.5).astype("int32")
        * (ids != 0),
        "padding_mask": (ids != 0).astype("int32"),
    }


@pytest.fixture(scope="module")
def bert_files(tmp_path_factory):
    """`{"float32": path, "int8": path}` of one tiny BERT classifier."""
    folder = tmp_path_factory.mktemp("op_profile")
    model = tiny_models.bert_classifier(VOCABULARY, LENGTH, seed=3)
    paths = {}
    for quantization in (None, "int8"):
        path = folder / f"bert_{quantization or 'float32'}.tflite"
        to_tflite(
            model,
            path,
            quantization=quantization,
            representative_data=[bert_feeds(seed) for seed in range(8)],
            sequence_length=LENGTH,
            measure_latency=False,
            num_samples=1,
        )
        paths[quantization or "float32"] = path
    return paths


@pytest.fixture(scope="module")
def while_file(tmp_path_factory):
    """A WHILE loop run `steps` times: subgraphs main, cond and body."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([1, 4], tf.float32, name="x"),
            tf.TensorSpec([], tf.int32, name="steps"),
        ]
    )
    def loop(x, steps):
        def body(i, x):
            return i + 1, tf.tanh(x * 0.5 + 1.0)

        _, y = tf.while_loop(lambda i, x: i < steps, body, [tf.constant(0), x])
        return {"y": y + 1.0}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [loop.get_concrete_function()], loop
    )
    path = tmp_path_factory.mktemp("op_profile_while") / "while.tflite"
    path.write_bytes(converter.convert())
    return path


def _bytes(data):
    return b"" if data is None else bytes(data)


def interpreter_ops(path):
    """Subgraph 0's operator names as the interpreter lists them (before
    allocation, so without the XNNPACK delegate's nodes)."""
    interpreter = Interpreter(model_path=str(path))
    return [op["op_name"] for op in interpreter._get_ops_details()]


def test_chained_operators_reproduce_the_float32_file(bert_files):
    for seed in (1, 2):
        diff = op_profile.check_chain(bert_files["float32"], bert_feeds(seed))
        # Each operator runs the kernel it runs in the whole model, on the
        # same values, so the outputs agree to the bit (0.0 here).
        assert diff <= 1e-5, (seed, diff)


def test_chained_operators_reproduce_the_int8_file_exactly(bert_files):
    for seed in (1, 2):
        diff = op_profile.check_chain(bert_files["int8"], bert_feeds(seed))
        assert diff == 0.0, (seed, diff)


def test_profile_lists_every_operator_of_subgraph_0_once(bert_files):
    path = bert_files["int8"]
    report = op_profile.profile(
        path, bert_feeds(1), threads=1, repeats=2, warmup=1
    )
    names = interpreter_ops(path)
    assert [row["index"] for row in report["ops"]] == list(range(len(names)))
    assert [row["op"] for row in report["ops"]] == names
    assert report["op_count"] == len(names)
    # One subgraph, so the per-type counts are the file's operator counts.
    assert report["subgraphs"] == ["main"]
    counts = {entry["op"]: entry["count"] for entry in report["by_type"]}
    assert counts == inspect_tflite(path)["ops"]
    assert report["untimed_ops"] == []
    assert all(row["ms"] > 0 for row in report["ops"])
    assert report["sum_ms"] == pytest.approx(
        sum(row["ms"] for row in report["ops"])
    )
    assert sum(e["share"] for e in report["by_type"]) == pytest.approx(1.0)
    assert report["whole_model_ms"] > 0 and report["invoke_overhead_ms"] > 0
    assert report["chain_max_abs_diff"] == 0.0
    # Shapes and types are the ones the operator sees in the whole model:
    # attention's products (B, H, T, S) and layer norm's per-token dot
    # products (B * T, 1, D) @ (B * T, D, 1).
    matmuls = [row for row in report["ops"] if row["op"] == "BATCH_MATMUL"]
    ranks = {
        len(tensor["shape"])
        for row in matmuls
        for tensor in row["inputs"] + row["outputs"]
    }
    assert ranks == {3, 4}, ranks
    assert all(
        tensor["dtype"] == "int8"
        for row in matmuls
        for tensor in row["inputs"] + row["outputs"]
    )
    dense = [row for row in report["ops"] if row["op"] == "FULLY_CONNECTED"]
    assert dense and all(row["inputs"][1]["constant"] for row in dense)
    json.dumps(report)  # the CLI's --output


def test_one_operator_models_keep_only_what_the_operator_reads(bert_files):
    path = bert_files["int8"]
    model, blob = op_profile.read_model(path)
    # The exporter's 40-byte checksum footer is cut off before parsing
    # (the FlatBuffer reader would ignore it too: same operators, buffers).
    assert len(blob) == path.stat().st_size - 40
    with_footer = flatbuffer_utils.read_model_from_bytearray(path.read_bytes())
    assert len(with_footer.subgraphs[0].operators) == len(
        model.subgraphs[0].operators
    )
    assert [_bytes(b.data) for b in with_footer.buffers] == [
        _bytes(b.data) for b in model.buffers
    ]
    graph = model.subgraphs[0]
    index = next(
        i
        for i, op in enumerate(graph.operators)
        if op_profile.op_name(model, op) == "FULLY_CONNECTED"
    )
    single, inputs, outputs = op_profile.single_op_model(model, index)
    op = graph.operators[index]
    assert inputs == [op.inputs[0]] and outputs == list(op.outputs)
    assert len(single) < len(blob) / 2
    cut, _ = op_profile.read_model(single)
    assert len(cut.subgraphs) == 1 and len(cut.subgraphs[0].operators) == 1
    assert len(cut.operatorCodes) == 1
    # Types, shapes, quantization and weights as in the file.
    cut_op = cut.subgraphs[0].operators[0]
    for old, new in zip(op.inputs, cut_op.inputs, strict=True):
        if old < 0:
            assert new == -1
            continue
        before, after = graph.tensors[old], cut.subgraphs[0].tensors[new]
        assert (before.type, list(before.shape)) == (
            after.type,
            list(after.shape),
        )
        assert np.array_equal(
            before.quantization.scale, after.quantization.scale
        )
        assert np.array_equal(
            before.quantization.zeroPoint, after.quantization.zeroPoint
        )
        if op_profile._has_data(model, before):
            assert bytes(model.buffers[before.buffer].data) == bytes(
                cut.buffers[after.buffer].data
            )


def test_while_loop_is_timed_as_one_operator(while_file):
    feeds = {
        "x": np.linspace(-1, 1, 4, dtype="float32")[None],
        "steps": np.int32(5),
    }
    assert op_profile.check_chain(while_file, feeds) <= 1e-6
    report = op_profile.profile(
        while_file, feeds, threads=1, repeats=2, warmup=1
    )
    assert [row["op"] for row in report["ops"]] == interpreter_ops(while_file)
    assert [row["op"] for row in report["ops"]] == ["WHILE", "ADD"]
    assert len(report["subgraphs"]) == 3
    assert "only subgraph 0" in report["note"] and "WHILE" in report["note"]
    assert report["chain_max_abs_diff"] <= 1e-6
    # Its loop runs as many times as in the whole model: more steps, longer.
    longer = op_profile.profile(
        while_file,
        dict(feeds, steps=np.int32(2000)),
        threads=1,
        repeats=3,
        warmup=1,
        chain=False,
    )
    assert longer["ops"][0]["ms"] > 10 * report["ops"][0]["ms"]


def test_random_inputs_and_unknown_names(bert_files):
    feeds = op_profile.random_inputs(bert_files["float32"], id_range=10)
    assert set(feeds) == {"token_ids", "segment_ids", "padding_mask"}
    assert feeds["token_ids"].dtype == np.int32
    assert feeds["token_ids"].max() < 10
    assert (feeds["padding_mask"] == 1).all()
    assert (feeds["segment_ids"] == 0).all()
    with pytest.raises(ValueError, match="Unknown input 'ids'"):
        op_profile.check_chain(
            bert_files["float32"], {"ids": feeds["token_ids"]}
        )


def test_command_line_prints_tables_and_writes_json(
    bert_files, tmp_path, capsys
):
    output = tmp_path / "profile.json"
    op_profile.main(
        [str(bert_files["float32"]), "--threads", "1", "--repeats", "1"]
        + ["--warmup", "0", "--top", "3", "--id-range", str(VOCABULARY)]
        + ["--output", str(output)]
    )
    printed = capsys.readouterr().out
    assert "| op | count | total ms | share | ms each |" in printed
    assert "slowest 3 operators:" in printed
    assert "whole model:" in printed and "1 subgraph" in printed
    saved = json.loads(output.read_text())
    assert saved["op_count"] == len(interpreter_ops(bert_files["float32"]))
    assert saved["chain_max_abs_diff"] <= 1e-5
