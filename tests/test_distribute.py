"""Distributed training and fault tolerance, the real thing on CPU.

Each check starts fresh Python processes (tests/fixtures/train_child.py):
the logical-device layout and TF_CONFIG must be set before TensorFlow
starts, and a killed run must really die.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

# Every check starts Python processes that train: end-to-end, handed out early.
pytestmark = pytest.mark.slow

CHILD = Path(__file__).resolve().parent / "fixtures" / "train_child.py"
TIMEOUT = 300


def child_env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def run_child(*args, env=None):
    result = subprocess.run(
        [sys.executable, str(CHILD), *args],
        env=env or child_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
    assert result.returncode == 0, tail
    return json.loads(result.stdout.strip().splitlines()[-1])


def load_weights(path):
    with np.load(path) as stored:
        return [stored[str(i)] for i in range(len(stored.files))]


def assert_same_weights(first, second, atol):
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


@pytest.fixture(scope="module")
def two_logical_cpus():
    """One child with its CPU split into two logical devices (set before
    TensorFlow starts, hence a process) that fits twice under
    `MirroredStrategy` and on one device: the training loop on token ids,
    then a task on strings (`train_child.py --task compare --with-task`).
    The two checks below share it: one TensorFlow start, not two."""
    return run_child("--task", "compare", "--epochs", "2", "--with-task")


def test_mirrored_over_two_cpus_matches_one_device(two_logical_cpus):
    summary = {k: v for k, v in two_logical_cpus.items() if k != "task"}
    assert summary["replicas"] == 2
    assert [d.split(":")[-1] for d in summary["devices"]] == ["0", "1"]
    # Same global batches, gradients all-reduced over the two replicas:
    # the weights match a single device's to float32 rounding.
    assert summary["max_difference"] <= 1e-5, summary
    assert all(np.isfinite(summary["loss"]))


def test_a_task_fits_on_strings_under_mirrored_as_on_one_device(
    two_logical_cpus,
):
    """A `TextClassifier` task fit on strings (its preprocessor inside
    `fit`) over two logical CPUs ends with one device's weights."""
    summary = two_logical_cpus["task"]
    assert summary["replicas"] == 2
    assert summary["max_difference"] <= 1e-5, summary
    assert summary["loss"] == pytest.approx(summary["single_loss"], abs=1e-5)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_multi_worker_two_processes_end_with_identical_weights(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    try:
        for index in range(2):
            config = {
                "cluster": {"worker": workers},
                "task": {"type": "worker", "index": index},
            }
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        str(CHILD),
                        "--task",
                        "fit",
                        "--strategy",
                        "multi_worker",
                        "--epochs",
                        "2",
                        "--dropout",
                        "0.1",
                        "--output",
                        str(tmp_path / "run"),
                        "--weights",
                        str(tmp_path / f"worker{index}.npz"),
                    ],
                    env=child_env(TF_CONFIG=json.dumps(config)),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        outputs = [p.communicate(timeout=TIMEOUT)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, output in zip(processes, outputs, strict=True):
        tail = "\n".join(output.splitlines()[-25:])
        assert process.returncode == 0, tail
    summaries = [json.loads(o.strip().splitlines()[-1]) for o in outputs]
    assert [s["replicas"] for s in summaries] == [2, 2]
    assert summaries[0]["epochs"] == [1, 2]
    chief, other = (load_weights(tmp_path / f"worker{i}.npz") for i in (0, 1))
    # The all-reduce keeps the copies in step: same weights on both.
    assert_same_weights(chief, other, atol=1e-6)
    # Only the chief writes the run's files.
    assert (tmp_path / "run" / "history.json").is_file()


FIT = ["--task", "fit", "--epochs", "3", "--batch-size", "8"]
# Dropout on, validation every epoch, deterministic ops: the resumed run
# must reproduce the uninterrupted one, dropout masks and data order too.
OPTIONS = ["--dropout", "0.1", "--validate", "--deterministic"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The run nobody kills: (summary, weights)."""
    folder = tmp_path_factory.mktemp("whole")
    summary = run_child(
        *FIT,
        *OPTIONS,
        "--output",
        str(folder / "run"),
        "--weights",
        str(folder / "whole.npz"),
    )
    return summary, load_weights(folder / "whole.npz")


def _kill_mid_epoch(command):
    """Runs `command`, SIGKILLs it after batch 3 of the second epoch."""
    process = subprocess.Popen(
        command,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seen = []
    try:
        deadline = time.monotonic() + TIMEOUT
        for line in process.stdout:
            seen.append(line.strip())
            if line.startswith("step epoch=1 batch=3"):
                process.send_signal(signal.SIGKILL)
                break
            assert time.monotonic() < deadline, seen[-5:]
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode


# Where the process dies, and the epochs its backup then holds: in the
# middle of epoch 2; inside the backup of epoch 2, after its weights file
# is written (Keras's own callback would now pair epoch-2 weights with
# the record of epoch 1); and after the record of epoch 2 replaced the old.
KILL_POINTS = {
    "mid_epoch": 1,
    "weights_written": 1,
    "metadata_written": 2,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_run_killed_resumes_to_the_same_weights(tmp_path, uninterrupted, point):
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        str(CHILD),
        *FIT,
        *OPTIONS,
        "--output",
        str(run_dir),
        "--weights",
        str(tmp_path / "resumed.npz"),
    ]
    # 64 examples in batches of 8: 8 steps an epoch.
    if point == "mid_epoch":
        returncode = _kill_mid_epoch([*command, "--report-steps"])
    else:
        killed = subprocess.run(
            [*command, "--die-at", point],
            env=child_env(),
            capture_output=True,
            timeout=TIMEOUT,
        )
        returncode = killed.returncode
    assert returncode == -signal.SIGKILL
    assert not (tmp_path / "resumed.npz").exists()
    backup = json.loads(
        (run_dir / "backup" / "training_metadata.json").read_text()
    )
    assert backup["epoch"] == KILL_POINTS[point]
    assert (run_dir / "backup" / backup["weights"]).is_file()
    killed_history = json.loads((run_dir / "history.json").read_text())
    assert [r["epoch"] for r in killed_history][: backup["epoch"]] == list(
        range(1, backup["epoch"] + 1)
    )

    # The same command again resumes and ends where the uninterrupted run
    # ends: the records of the epochs before the kill survived, the rest
    # match, dropout masks and data order included.
    resumed = run_child(*command[2:])
    whole, whole_weights = uninterrupted
    assert resumed["epochs"] == whole["epochs"] == [1, 2, 3]
    np.testing.assert_allclose(resumed["loss"], whole["loss"], rtol=1e-6)
    assert resumed["best_epoch"] == whole["best_epoch"]
    assert_same_weights(
        load_weights(tmp_path / "resumed.npz"), whole_weights, atol=1e-6
    )
    # A finished run removes its backup (Keras's delete_checkpoint).
    assert not (run_dir / "backup").exists()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_fit_gives_finite_loss_and_gradients(policy, tmp_path):
    import keras
    import tensorflow as tf

    sys.path.insert(0, str(CHILD.parent))
    try:
        import train_child
    finally:
        sys.path.remove(str(CHILD.parent))
    from keras_attn import training

    inputs, labels = train_child.synthetic_task()
    result = training.train(
        lambda: train_child.build(0.1),
        (inputs, labels),
        epochs=1,
        batch_size=16,
        output_dir=tmp_path,
        precision=policy,
        strategy="one_device",
        learning_rate=1e-3,
        tensorboard=False,
        verbose=0,
    )
    model = result.model
    assert keras.config.dtype_policy().name == "float32"  # restored
    assert model.get_layer("logits").compute_dtype == policy.split("_")[1]
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    assert np.isfinite(result.history[0]["loss"])
    batch = {k: v[:16] for k, v in inputs.items()}
    with tf.GradientTape() as tape:
        logits = model(batch, training=True)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
            labels[:16], logits
        )
    gradients = tape.gradient(loss, model.trainable_variables)
    assert np.isfinite(float(loss))
    for variable, gradient in zip(
        model.trainable_variables, gradients, strict=True
    ):
        if gradient is not None:
            values = tf.convert_to_tensor(gradient)
            finite = tf.reduce_all(tf.math.is_finite(values))
            assert bool(finite), variable.path
    for weight in model.weights:
        assert bool(tf.reduce_all(tf.math.is_finite(weight))), weight.path
