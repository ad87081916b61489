"""TensorFlow distribution strategies and precision policies, by name.

Training in keras-attn is `model.fit` under one of TensorFlow's own
strategies; this module only picks one. Build the model and compile it
inside `strategy.scope()`; the batch size you give `fit` (or the batch of
your `tf.data.Dataset`) is the global batch, which the strategy splits
across its replicas.

Kept as `keras_attn.distribute` too (its place before issue 18).

Example:

>>> from keras_attn.training.distribute import get_strategy
>>> strategy = get_strategy("one_device")
>>> strategy.num_replicas_in_sync
1
"""

__all__ = [
    "PRECISIONS",
    "STRATEGIES",
    "get_strategy",
    "is_chief",
    "precision",
]

import contextlib
import json
import os

import keras
import tensorflow as tf

from keras_attn._choices import PRECISIONS
from keras_attn._choices import STRATEGIES


def _tpu_configured():
    """True when a TPU is attached or named, without asking the network."""
    if os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR"):
        return True
    return bool(tf.config.list_logical_devices("TPU"))


def _tpu_strategy():
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=os.environ.get("TPU_NAME", "")
    )
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def _mirrored_devices():
    """Every visible GPU; without GPUs, every logical CPU device."""
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return [device.name for device in gpus]
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def _multi_worker_strategy():
    config = os.environ.get("TF_CONFIG")
    if not config:
        raise ValueError(
            "The 'multi_worker' strategy reads the cluster from the "
            "TF_CONFIG environment variable, which is not set. Expected "
            'for example TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", '
            '"host2:12345"]}, "task": {"type": "worker", "index": 0}}\' on '
            "each worker, with its own index."
        )
    try:
        parsed = json.loads(config)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"TF_CONFIG is not valid JSON ({error}); received {config!r}."
        ) from None
    if not isinstance(parsed, dict) or "cluster" not in parsed:
        raise ValueError(
            "TF_CONFIG must be a JSON object with 'cluster' and 'task'; "
            f"received {config!r}."
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def get_strategy(name="auto"):
    """A `tf.distribute.Strategy` by name.

    - `"auto"`: `"tpu"` when a TPU is attached (`TPU_NAME`,
      `COLAB_TPU_ADDR` or a local TPU device), else `"mirrored"` when
      TensorFlow sees several GPUs, else the default strategy (the one
      GPU, or the CPU), where Keras can still use XLA.
      Several workers are never guessed: ask for `"multi_worker"`.
    - `"one_device"`: `OneDeviceStrategy` on the first GPU, else the CPU.
    - `"mirrored"`: `MirroredStrategy` over every visible GPU; without
      GPUs, over every logical CPU device (one unless you split the CPU
      with `tf.config.set_logical_device_configuration`).
    - `"multi_worker"`: `MultiWorkerMirroredStrategy`, the cluster and
      this worker's index read from `TF_CONFIG`. Every worker runs the
      same command; worker 0 is the chief.
    - `"tpu"`: `TPUStrategy` after connecting to and initialising the TPU
      system named by `TPU_NAME` (or the local one).

    Args:
        name: one of `STRATEGIES`, or a `tf.distribute.Strategy`, returned
            as it is.

    Returns:
        tf.distribute.Strategy.

    Example:

    >>> get_strategy("auto").num_replicas_in_sync >= 1
    True
    """
    if isinstance(name, tf.distribute.Strategy):
        return name
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {name!r}; expected one of {list(STRATEGIES)}."
        )
    if name == "auto":
        if _tpu_configured():
            return _tpu_strategy()
        if len(tf.config.list_logical_devices("GPU")) > 1:
            return tf.distribute.MirroredStrategy()
        # One GPU (TensorFlow places work on it) or the CPU. Under the
        # default strategy Keras may compile the step with XLA, which it
        # turns off under any other strategy.
        return tf.distribute.get_strategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(
            gpus[0].name if gpus else "/cpu:0"
        )
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(_mirrored_devices())
    if name == "multi_worker":
        return _multi_worker_strategy()
    return _tpu_strategy()


def is_chief(strategy):
    """Whether this process should write the run's shared outputs.

    True except on the non-chief workers of a multi-worker strategy (they
    compute the same weights; only worker 0 writes them).

    Example:

    >>> is_chief(get_strategy("one_device"))
    True
    """
    extended = strategy.extended
    return bool(getattr(extended, "should_checkpoint", True))


@contextlib.contextmanager
def precision(policy):
    """Sets Keras's global dtype policy inside the block, then restores it.

    Layers built inside take the policy: `"mixed_float16"` and
    `"mixed_bfloat16"` compute in half precision and keep float32
    weights; `model.compile` then wraps the optimizer in a
    `LossScaleOptimizer` for float16 (bfloat16 needs no loss scaling).
    keras-attn's attention layers run their softmax in float32, and
    under float16 form the attention logits in float32 too.

    Args:
        policy: one of `PRECISIONS`.

    Example:

    >>> import keras
    >>> with precision("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(2)
    >>> layer.compute_dtype, keras.config.dtype_policy().name
    ('bfloat16', 'float32')
    """
    if policy not in PRECISIONS:
        raise ValueError(
            f"Unknown precision {policy!r}; expected one of {list(PRECISIONS)}."
        )
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
