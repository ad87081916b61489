"""`to_tflite(..., gpu_delegate=True)`: attention and layer norm in the
operators MediaPipe's GPU delegate computes (`export._gpu_delegate_forms`).

The lowered forms are compared with the layers' own calls without
converting (masks, causal attention, the scores with a product, the
weights they return); one file of a BERT backbone is compared with Keras
by LiteRT's interpreter and read for the delegate's rules, learnt from its
messages in Chromium (tests/web/test_mediapipe_gpu.py runs the files
there): no BATCH_MATMUL, and no elementwise operator of two tensors of
different ranks or broadcast on both sides.
"""

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from attention_reference import padding
from attention_reference import random
from attention_reference import randomize

from keras_attn import layers
from keras_attn import models
from keras_attn.export import lowering
from keras_attn.export import to_tflite

ELEMENTWISE = {"ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM"}


def lowered(layer, *args, **kwargs):
    return lowering.Lowering("gpu_delegate").call(layer, *args, **kwargs)


@pytest.mark.parametrize(
    "score, causal",
    [("scaled_dot", False), ("scaled_dot", True), ("dot", False),
     ("general", True)],
)  # fmt: skip
def test_attention_form_computes_the_layers_attention(score, causal):
    query, value = random((2, 5, 6)), random((2, 7, 4))
    mask = padding(2, 7, [7, 3])
    if causal:
        value, mask = random((2, 5, 4)), padding(2, 5, [5, 2])
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, score=score)
    layer(query, value)
    randomize(layer)
    options = dict(padding_mask=mask, use_causal_mask=causal)
    want, want_weights = layer(
        query, value, return_attention_scores=True, **options
    )
    got, weights = lowered(
        layer, query, value, return_attention_scores=True, **options
    )
    # float32 rounding: the products are summed in another order.
    np.testing.assert_allclose(got, want, atol=2e-6)
    np.testing.assert_allclose(weights, want_weights, atol=1e-6)


def test_layer_norm_form_computes_keras_layer_norm():
    x = random((2, 5, 8), scale=4.0) + 1.5
    norm = keras.layers.LayerNormalization(epsilon=1e-6)
    norm(x)
    randomize(norm)
    np.testing.assert_allclose(lowered(norm, x), norm(x), atol=2e-6)
    over_two = keras.layers.LayerNormalization(axis=(1, 2))
    np.testing.assert_allclose(lowered(over_two, x), over_two(x), atol=2e-6)


def _tensors(interpreter):
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    constant = set()
    for index in details:
        try:  # a constant's buffer reads without running the graph
            interpreter.get_tensor(index)
            constant.add(index)
        except ValueError:
            pass
    return details, constant


def test_bert_file_keeps_to_the_delegates_rules(tmp_path):
    keras.utils.set_random_seed(4)
    backbone = models.bert_backbone(
        vocabulary_size=50, num_layers=1, hidden_dim=16, num_heads=2,
        intermediate_dim=32, max_sequence_length=16, dropout=0.0,
    )  # fmt: skip
    path = tmp_path / "bert.tflite"
    report = to_tflite(
        backbone, path, sequence_length=12, gpu_delegate=True,
        measure_latency=False, num_samples=2,
    )  # fmt: skip
    assert max(report.max_abs_diff.values()) < 1e-4, report.max_abs_diff
    interpreter = Interpreter(str(path))
    operators = interpreter._get_ops_details()
    names = {op["op_name"] for op in operators}
    assert "BATCH_MATMUL" not in names, names
    details, constant = _tensors(interpreter)
    checked = 0
    for op in operators:
        if op["op_name"] not in ELEMENTWISE:
            continue
        inputs = [i for i in op["inputs"] if i not in constant]
        if len(inputs) < 2:
            continue
        shapes = [tuple(details[i]["shape"]) for i in inputs]
        out = tuple(details[op["outputs"][0]]["shape"])
        assert len({len(shape) for shape in shapes}) == 1, (op, shapes)
        assert out in shapes, (op["op_name"], shapes, out)
        checked += 1
    assert checked >= 5, checked  # the residuals, the norms, the mask


@pytest.mark.parametrize("quantization", ["dynamic_int8", "int8"])
def test_integer_files_are_refused_for_the_delegate(tmp_path, quantization):
    model = models.bert_backbone(
        vocabulary_size=50, num_layers=1, hidden_dim=8, num_heads=2,
        intermediate_dim=16, max_sequence_length=8,
    )  # fmt: skip
    with pytest.raises(ValueError, match="GPU delegate computes float"):
        to_tflite(
            model, tmp_path / "m.tflite", quantization=quantization,
            representative_data={"token_ids": np.ones((2, 8), "int32")},
            gpu_delegate=True,
        )  # fmt: skip


def test_export_command_writes_the_delegates_forms(tmp_path, capsys):
    from keras_attn import cli

    keras.utils.set_random_seed(5)
    vit = models.vit_classifier(
        3, image_size=8, patch_size=4, num_layers=1, hidden_dim=8,
        num_heads=2, intermediate_dim=16,
    )  # fmt: skip
    vit.save(tmp_path / "vit.keras")
    output = tmp_path / "vit.tflite"
    code = cli.main([
        "export", str(tmp_path / "vit.keras"), "--to", "tflite",
        "--gpu-delegate", "--output", str(output),
    ])  # fmt: skip
    assert code == 0, capsys.readouterr()
    names = {
        op["op_name"] for op in Interpreter(str(output))._get_ops_details()
    }
    assert "BATCH_MATMUL" not in names and "RESIZE_NEAREST_NEIGHBOR" in names
