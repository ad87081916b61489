"""Train one model under TensorFlow's distribution strategies.

    python examples/distributed.py --strategy mirrored --cpu-replicas 2
    python examples/distributed.py --workers 2          # two local workers

The model is `vit_digits` on scikit-learn's bundled digits (no download),
trained with `keras_attn.training.train`: the same call for every
strategy, the batch size being the global batch.

`--strategy mirrored` copies the model onto every GPU (or, with
`--cpu-replicas N` on a machine without GPUs, onto N logical CPU devices,
which is how you can try it on a laptop) and all-reduces the gradients.

`--workers N` starts N worker processes on this machine, each with its
own `TF_CONFIG`, under `MultiWorkerMirroredStrategy`, prints the command
each runs (the same commands, with real host names, are what you run on
N machines), waits for them and checks that they end with the same
weights. Worker 0 writes the outputs.

Run it twice with the same `--output` after killing it (Ctrl-C, or
`kill -9`): training resumes from the last completed epoch.

Needs scikit-learn: `pip install ".[examples]"`.
"""

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import time


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def launch_workers(args):
    """Starts the local workers, waits, compares their weights."""
    hosts = [f"127.0.0.1:{port}" for port in free_ports(args.workers)]
    processes = []
    for index in range(args.workers):
        config = {
            "cluster": {"worker": hosts},
            "task": {"type": "worker", "index": index},
        }
        command = [
            sys.executable,
            __file__,
            "--strategy",
            "multi_worker",
            "--epochs",
            str(args.epochs),
            "--batch-size",
            str(args.batch_size),
            "--output",
            args.output,
            "--weights-summary",
            os.path.join(args.output, f"worker{index}-weights.json"),
        ]
        print(
            f"worker {index}: TF_CONFIG='{json.dumps(config)}' "
            + shlex.join(command),
            flush=True,
        )
        env = dict(os.environ, TF_CONFIG=json.dumps(config))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        processes.append(subprocess.Popen(command, env=env))
    try:
        deadline = time.monotonic() + args.timeout
        for process in processes:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    codes = [p.returncode for p in processes]
    if any(codes):
        raise SystemExit(f"a worker failed: exit codes {codes}")
    sums = []
    for index in range(args.workers):
        path = os.path.join(args.output, f"worker{index}-weights.json")
        with open(path, encoding="utf-8") as handle:
            sums.append(json.load(handle))
    spread = max(
        abs(a - b)
        for other in sums[1:]
        for a, b in zip(sums[0], other, strict=True)
    )
    print(
        f"{args.workers} workers finished; the largest difference between "
        f"their per-weight sums is {spread:.3g}"
    )


def train_here(args):
    if args.cpu_replicas > 1:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.cpu_replicas
        )
    import numpy as np

    from keras_attn import data
    from keras_attn import models
    from keras_attn import training
    from keras_attn.training import distribute

    strategy = distribute.get_strategy(args.strategy)
    print(
        f"{type(strategy).__name__}: {strategy.num_replicas_in_sync} "
        f"replica(s), global batch {args.batch_size}",
        flush=True,
    )
    x_train, x_test, y_train, y_test = data.load_digits()
    result = training.train(
        lambda: models.vit_classifier(10, "vit_digits"),
        (x_train, y_train),
        epochs=args.epochs,
        batch_size=args.batch_size,
        output_dir=args.output,
        validation_data=(x_test, y_test),
        strategy=strategy,
        learning_rate=2e-3,
        weight_decay=0.05,
        verbose=2,
    )
    best = max(r.get("val_accuracy", 0.0) for r in result.history)
    print(f"best held-out accuracy {best:.4f} (epoch {result.best_epoch})")
    if args.weights_summary:
        sums = [float(np.sum(np.asarray(w))) for w in result.model.weights]
        with open(args.weights_summary, "w", encoding="utf-8") as handle:
            json.dump(sums, handle)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    parser.add_argument(
        "--strategy",
        default="mirrored",
        choices=["auto", "one_device", "mirrored", "multi_worker", "tpu"],
    )
    parser.add_argument(
        "--cpu-replicas",
        type=int,
        default=1,
        help="split the CPU into this many logical devices (no GPU needed)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="start this many local workers under multi_worker",
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", default="distributed-run")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--weights-summary", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workers and args.workers < 2:
        parser.error("--workers must be 2 or more (or 0 to train here)")
    if args.workers:
        launch_workers(args)
    else:
        train_here(args)


if __name__ == "__main__":
    main()
