"""Training throughput and model FLOPs utilisation, ours against keras-hub.

What is measured
    One optimizer step (`train_on_batch`: forward, backward, AdamW update)
    of a classifier on random data, for two models of the same config:

    * BERT: `keras_attn.models.bert_text_classifier(bert_backbone(...))`
      against keras-hub's `BertBackbone` with the same dense head on its
      pooled output (`--bert-preset`, default `bert_base`, sequence 512);
    * ViT: `keras_attn.models.vit_classifier` against keras-hub's
      `ViTBackbone` with the same head on the class token (`--vit-preset`,
      default `vit_base`: ViT-B/16 at 224x224).

    Backends:

    * `--backend jax` (what a GPU machine without TensorFlow has): the
      batch is sharded over every local device with
      `keras.distribution.DataParallel`; the step is XLA-compiled.
    * `--backend tensorflow`: under `MirroredStrategy` when TensorFlow sees
      GPUs, else the default strategy (CPU).

    `--precision` is the Keras dtype policy (default `mixed_bfloat16`).

How it is timed
    After `--warmup` steps (compilation), ours and keras-hub's alternate
    for `--repeats` rounds of `--steps` steps each; `train_on_batch`
    returns the loss as a number, so every step has finished when it is
    timed. The table shows the median step time, examples/s and tokens/s
    (BERT: tokens; ViT: patches + class token), `ratio` = keras-hub time /
    our time (above 1: ours faster), and MFU.

Model FLOPs
    Training FLOPs per token are 6 N + 12 L T d (Chowdhery et al., 2022,
    PaLM, appendix B: N the parameters in matrix multiplies, L layers, T
    tokens, d the hidden size; the second term is attention's q k^T and
    the weighted sum of values, forward and backward). MFU = achieved
    FLOPs/s over the peak dense FLOPs/s of the devices: `--peak-tflops`
    per device, or, when JAX names an H100 or H200, 989 TFLOP/s (NVIDIA's
    dense bf16 figure for the SXM parts). On CPU MFU is left empty unless
    a peak is given.

    KERAS_BACKEND=jax python benchmarks/train_gpu.py            # on a GPU
    python benchmarks/train_gpu.py --backend jax --tiny         # CPU smoke
    python benchmarks/train_gpu.py --backend tensorflow --tiny
"""

import argparse
import json
import os
import statistics
import sys
import time

PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["jax", "tensorflow"])
    parser.add_argument("--models", default="bert,vit")
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--bert-preset", default="bert_base")
    parser.add_argument("--vit-preset", default="vit_base")
    parser.add_argument("--sequence-length", type=int, default=512)
    parser.add_argument(
        "--batch-per-device",
        type=int,
        default=None,
        help="default 32 for BERT-512, 128 for ViT-B/16; 4 with --tiny",
    )
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="small models and batches: a CPU check that everything runs",
    )
    parser.add_argument("--json", help="also write the results here")
    return parser.parse_args(argv)


ARGS = parse_args(sys.argv[1:])
if ARGS.backend:
    os.environ["KERAS_BACKEND"] = ARGS.backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402

from keras_attn import models  # noqa: E402

TINY_BERT = dict(num_layers=2, hidden_dim=64, num_heads=2, intermediate_dim=128)
TINY_VIT = dict(
    image_size=32, patch_size=8, num_layers=2, hidden_dim=64, num_heads=2
)


def devices():
    if keras.backend.backend() == "jax":
        import jax

        return jax.local_devices()
    import tensorflow as tf

    return tf.config.list_logical_devices("GPU") or ["cpu"]


def device_name():
    if keras.backend.backend() == "jax":
        import jax

        return jax.local_devices()[0].device_kind
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return details.get("device_name", "GPU")
    return "CPU"


def scope():
    """The TensorFlow strategy's scope, or nothing on JAX."""
    import contextlib

    if keras.backend.backend() == "jax":
        return contextlib.nullcontext()
    from keras_attn.training import distribute

    return distribute.get_strategy("auto").scope()


def bert_pair(config, length, seed):
    keras.utils.set_random_seed(seed)
    ours = models.bert_text_classifier(
        models.bert_backbone(
            vocabulary_size=30522, max_sequence_length=length, **config
        ),
        num_classes=2,
    )
    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=30522,
        max_sequence_length=length,
        num_segments=2,
        dropout=0.1,
        **config,
    )
    inputs = backbone.input
    logits = keras.layers.Dense(2, name="logits")(
        backbone(inputs)["pooled_output"]
    )
    anchor = keras.Model(inputs, logits, name="keras_hub_bert")
    return ours, anchor


def vit_pair(config, seed):
    keras.utils.set_random_seed(seed)
    ours = models.vit_classifier(2, **config)
    keras.utils.set_random_seed(seed)
    size = config["image_size"]
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(size, size, config.get("channels", 3)),
        patch_size=config["patch_size"],
        num_layers=config["num_layers"],
        num_heads=config["num_heads"],
        hidden_dim=config["hidden_dim"],
        mlp_dim=config["intermediate_dim"],
    )
    features = backbone(backbone.input)[:, 0]  # the class token
    logits = keras.layers.Dense(2, name="logits")(features)
    anchor = keras.Model(backbone.input, logits, name="keras_hub_vit")
    return ours, anchor


def bert_batch(batch, length, rng):
    ids = rng.integers(1, 30522, size=(batch, length)).astype("int32")
    inputs = {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": np.ones_like(ids),
    }
    return inputs, rng.integers(0, 2, size=batch).astype("int32")


def vit_batch(batch, size, rng):
    images = rng.random((batch, size, size, 3), dtype=np.float32)
    return images, rng.integers(0, 2, size=batch).astype("int32")


def flops_per_token(config, tokens):
    """6 N + 12 L T d, N the matmul parameters of the Transformer layers."""
    d, layers = config["hidden_dim"], config["num_layers"]
    intermediate = config.get("intermediate_dim") or 4 * d
    matmul = layers * (4 * d * d + 2 * d * intermediate)
    return 6 * matmul + 12 * layers * tokens * d


def compile_model(model):
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-4, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True if keras.backend.backend() == "jax" else "auto",
    )


def time_pair(pair, batch, args):
    medians = {}
    for model in pair:
        compile_model(model)
        for _ in range(args.warmup):
            model.train_on_batch(*batch)
    rounds = {model.name: [] for model in pair}
    for _ in range(args.repeats):
        for model in pair:
            start = time.perf_counter()
            for _ in range(args.steps):
                loss = model.train_on_batch(*batch)
            rounds[model.name].append(
                (time.perf_counter() - start) / args.steps
            )
            if not np.isfinite(loss):
                raise SystemExit(f"{model.name}: loss is {loss}")
    for name, values in rounds.items():
        medians[name] = statistics.median(values)
    return medians


def main():
    args = ARGS
    policy = args.precision
    keras.config.set_dtype_policy(policy)
    count = len(devices())
    if keras.backend.backend() == "jax" and count > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel())
    name = device_name()
    peak = args.peak_tflops
    if peak is None:
        peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    rng = np.random.default_rng(0)
    rows = []
    for kind in args.models.split(","):
        if kind == "bert":
            if args.tiny:
                config, length = TINY_BERT, min(args.sequence_length, 32)
            else:
                config = models.bert_config(args.bert_preset)
                config = {k: config[k] for k in TINY_BERT}
                length = args.sequence_length
            per_device = args.batch_per_device or (4 if args.tiny else 32)
            batch = bert_batch(per_device * count, length, rng)
            with scope():
                pair = bert_pair(config, length, seed=0)
            tokens = length
        elif kind == "vit":
            if args.tiny:
                config = dict(TINY_VIT, intermediate_dim=128)
            else:
                full = models.vit_config(args.vit_preset)
                config = {k: full[k] for k in (*TINY_VIT, "intermediate_dim")}
                config["intermediate_dim"] = (
                    config["intermediate_dim"] or 4 * config["hidden_dim"]
                )
            per_device = args.batch_per_device or (4 if args.tiny else 128)
            batch = vit_batch(per_device * count, config["image_size"], rng)
            with scope():
                pair = vit_pair(config, seed=0)
            tokens = (config["image_size"] // config["patch_size"]) ** 2 + 1
        else:
            raise SystemExit(f"unknown model {kind!r}; expected bert or vit")
        print(
            f"{kind}: {config}, {tokens} tokens, batch {per_device} x "
            f"{count} device(s), {policy}, {keras.backend.backend()}",
            flush=True,
        )
        medians = time_pair(pair, batch, args)
        examples = per_device * count
        per_token = flops_per_token(config, tokens)
        ours, anchor = (medians[m.name] for m in pair)
        for model, seconds in zip(pair, (ours, anchor), strict=True):
            achieved = per_token * tokens * examples / seconds
            rows.append(
                {
                    "model": kind,
                    "implementation": "keras-attn"
                    if model is pair[0]
                    else "keras-hub",
                    "ms_per_step": 1000 * seconds,
                    "examples_per_s": examples / seconds,
                    "tokens_per_s": examples * tokens / seconds,
                    "tflops_per_s": achieved / 1e12,
                    "mfu": achieved / (peak * 1e12 * count) if peak else None,
                    "ratio": anchor / seconds if model is pair[0] else 1.0,
                }
            )
    header = "| model | impl | ms/step | examples/s | tokens/s | TFLOP/s |"
    print(f"\n{name} x {count}, {keras.backend.backend()}, {policy}\n")
    print(header + " MFU | ratio vs keras-hub |")
    print("|" + " --- |" * 8)
    for r in rows:
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "-"
        print(
            f"| {r['model']} | {r['implementation']} | "
            f"{r['ms_per_step']:.1f} | {r['examples_per_s']:.1f} | "
            f"{r['tokens_per_s']:.0f} | {r['tflops_per_s']:.3g} | {mfu} | "
            f"{r['ratio']:.2f} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "device": name,
                    "devices": count,
                    "backend": keras.backend.backend(),
                    "precision": policy,
                    "rows": rows,
                },
                handle,
                indent=1,
            )


if __name__ == "__main__":
    main()
