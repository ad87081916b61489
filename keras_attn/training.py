"""`model.fit` with the fine-tuning recipe, under a distribution strategy.

`train` builds the model inside `strategy.scope()` (and a precision
policy), compiles it with AdamW, a linear warm-up then cosine decay of
the learning rate and gradient clipping by global norm, and fits it on
an epoch-indexed `tf.data` stream with Keras's own callbacks:
`BackupAndRestore` (a run killed at any moment restarts from its last
completed epoch when the same command is run again), `TensorBoard`, and
two small ones of ours that survive restarts too: the best weights on the
validation metric, and the history of every epoch as JSON.

Everything distributed is TensorFlow's: the strategy splits each global
batch across replicas and all-reduces the gradients.
"""

__all__ = [
    "AtomicBackupAndRestore",
    "EpochLog",
    "KeepBest",
    "NO_DECAY",
    "RandomState",
    "TrainingResult",
    "epoch_stream",
    "fine_tuning_optimizer",
    "plot_history",
    "train",
]

import dataclasses
import json
import math
import os
import pathlib
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_attn import distribute

# Keras's BackupAndRestore keeps the last completed epoch here, inside
# its backup folder (keras/src/callbacks/backup_and_restore.py).
_BACKUP_METADATA = "training_metadata.json"
# Weight decay skips biases and layer-norm scales and offsets, as BERT's
# fine-tuning recipe does (Devlin et al., 2019, and its reference code).
NO_DECAY = ["bias", "gamma", "beta"]


def fine_tuning_optimizer(
    total_steps,
    learning_rate,
    warmup_fraction=0.1,
    weight_decay=0.01,
    global_clipnorm=1.0,
):
    """AdamW with linear warm-up, cosine decay and global-norm clipping.

    The learning rate rises linearly from 0 to `learning_rate` over the
    first `warmup_fraction` of `total_steps`, then follows a cosine down
    to 0 at `total_steps`.

    Args:
        total_steps: int. Optimizer steps of the whole run.
        learning_rate: float. Peak learning rate.
        warmup_fraction: float in [0, 1).
        weight_decay: float. Decoupled weight decay, not applied to
            biases and layer-norm parameters.
        global_clipnorm: float or None. Gradients are scaled down so
            that their global norm is at most this.

    Returns:
        keras.optimizers.AdamW.

    Example:

    >>> optimizer = fine_tuning_optimizer(100, 1e-3)
    >>> [round(float(optimizer.learning_rate.numpy()), 6)]  # step 0
    [0.0]
    """
    if not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(
            f"`total_steps` must be a positive int; received {total_steps!r}."
        )
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(
            "`warmup_fraction` must be in [0, 1); received "
            f"{warmup_fraction!r}."
        )
    warmup = int(total_steps * warmup_fraction)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else learning_rate,
        decay_steps=max(total_steps - warmup, 1),
        warmup_target=learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(
        schedule, weight_decay=weight_decay, global_clipnorm=global_clipnorm
    )
    optimizer.exclude_from_weight_decay(var_names=NO_DECAY)
    return optimizer


def _bool_to_int32(*batch):
    """Boolean tensors (keras-hub's padding masks) as int32 0/1.

    Under a distribution strategy Keras 3.15 builds the model by averaging
    the replicas' first batch (`_maybe_symbolic_build`), which TensorFlow
    cannot do for booleans; keras-attn's models take int32 masks.
    """
    cast = tf.nest.map_structure(
        lambda t: tf.cast(t, tf.int32) if t.dtype == tf.bool else t, batch
    )
    return cast if len(cast) > 1 else cast[0]


def epoch_stream(
    examples,
    batch_size,
    epochs,
    initial_epoch=0,
    shuffle=True,
    seed=0,
    map_batch=None,
):
    """Batches of `epochs - initial_epoch` epochs, one after the other.

    Epoch `e` is shuffled with a seed made from `seed` and `e` alone, so
    the order of each epoch does not depend on where the stream started:
    a run resumed at epoch 3 sees exactly the batches an uninterrupted
    run sees from epoch 3 on.

    Args:
        examples: an unbatched `tf.data.Dataset` of finite, known
            cardinality (for example `from_tensor_slices`).
        batch_size: int. The global batch.
        epochs: int. The epoch after the last one.
        initial_epoch: int. The first epoch of the stream.
        shuffle: bool.
        seed: int.
        map_batch: optional function applied to each batch (inside
            `tf.data`, in parallel, order kept): tokenization, for example.

    Returns:
        `(dataset, steps_per_epoch)`.

    Example:

    >>> import tensorflow as tf
    >>> data = tf.data.Dataset.range(5)
    >>> stream, steps = epoch_stream(data, 2, epochs=2, shuffle=False)
    >>> steps, [batch.numpy().tolist() for batch in stream]
    (3, [[0, 1], [2, 3], [4], [0, 1], [2, 3], [4]])
    """
    count = int(examples.cardinality())
    if count <= 0:
        raise ValueError(
            "`examples` must be a finite tf.data.Dataset of known size; "
            f"its cardinality is {count} (-1 infinite, -2 unknown: use "
            "from_tensor_slices, or .apply(tf.data.experimental."
            "assert_cardinality(n)))."
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"`batch_size` must be a positive int; received {batch_size!r}."
        )

    def one_epoch(epoch):
        data = examples
        if shuffle:
            data = data.shuffle(
                count,
                seed=seed * 1_000_003 + epoch,
                reshuffle_each_iteration=False,
            )
        data = data.batch(batch_size)
        if map_batch is not None:
            data = data.map(map_batch, num_parallel_calls=tf.data.AUTOTUNE)
        return data

    if not 0 <= initial_epoch < epochs:
        raise ValueError(
            f"`initial_epoch` must be in [0, {epochs}); received "
            f"{initial_epoch!r}."
        )
    stream = one_epoch(initial_epoch).map(_bool_to_int32)
    for epoch in range(initial_epoch + 1, epochs):
        stream = stream.concatenate(one_epoch(epoch).map(_bool_to_int32))
    options = tf.data.Options()
    options.deterministic = True
    # In-memory data has no files to shard by: each worker takes its part
    # of every global batch.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    stream = stream.with_options(options).prefetch(tf.data.AUTOTUNE)
    return stream, math.ceil(count / batch_size)


def _atomic_json(path, value):
    path = pathlib.Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _plain(value):
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value.tolist()


class EpochLog(keras.callbacks.Callback):
    """Writes every epoch's logs to a JSON list, across restarts.

    A resumed run keeps the records of the epochs it does not redo.

    Example:

    >>> import json, pathlib, tempfile
    >>> log = EpochLog(pathlib.Path(tempfile.mkdtemp()) / "history.json")
    >>> log.on_epoch_end(0, {"loss": 0.5})
    >>> json.loads(log.path.read_text())
    [{'epoch': 1, 'loss': 0.5}]
    """

    def __init__(self, path, initial_epoch=0):
        super().__init__()
        self.path = pathlib.Path(path)
        self.records = []
        if initial_epoch and self.path.is_file():
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            self.records = [r for r in stored if r["epoch"] <= initial_epoch]

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": epoch + 1}
        record.update({k: _plain(v) for k, v in (logs or {}).items()})
        self.records = [r for r in self.records if r["epoch"] < epoch + 1]
        self.records.append(record)
        _atomic_json(self.path, self.records)


class KeepBest(keras.callbacks.Callback):
    """Saves the weights whenever `monitor` improves, across restarts.

    The weights go to `weights_path` (written beside, then renamed, so a
    kill never leaves half a file) and the best value and its epoch to
    `weights_path` + `.json`, which a resumed run reads back.

    Example:

    >>> import keras, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> keep = KeepBest(folder / "best.weights.h5", monitor="val_accuracy")
    >>> keep.set_model(keras.Sequential([keras.Input((2,)),
    ...                                  keras.layers.Dense(1)]))
    >>> keep.on_epoch_end(0, {"val_accuracy": 0.7})
    >>> keep.on_epoch_end(1, {"val_accuracy": 0.6})
    >>> keep.mode, keep.best, keep.best_epoch
    ('max', 0.7, 1)
    """

    def __init__(self, weights_path, monitor="val_loss", mode="auto"):
        super().__init__()
        if mode == "auto":
            mode = "max" if "acc" in monitor or "bleu" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(
                f"`mode` must be 'auto', 'min' or 'max'; received {mode!r}."
            )
        self.weights_path = pathlib.Path(weights_path)
        self.state_path = self.weights_path.with_name(
            self.weights_path.name + ".json"
        )
        self.monitor, self.mode = monitor, mode
        self.best, self.best_epoch = None, None
        if self.state_path.is_file() and self.weights_path.is_file():
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            self.best, self.best_epoch = state["value"], state["epoch"]

    def _better(self, value):
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        if not self._better(float(value)):
            return
        temporary = self.weights_path.with_name(
            ".tmp." + self.weights_path.name
        )
        self.model.save_weights(temporary)
        os.replace(temporary, self.weights_path)
        self.best, self.best_epoch = float(value), epoch + 1
        _atomic_json(
            self.state_path,
            {"monitor": self.monitor, "value": self.best, "epoch": epoch + 1},
        )


class RandomState(keras.callbacks.Callback):
    """Backs up the dropout random streams with `BackupAndRestore`.

    Keras's weight files leave out the layers' `SeedGenerator` states, so
    a run resumed from a backup would draw other dropout masks than an
    uninterrupted one. This saves them after every epoch in the backup
    folder (`seeds-EPOCH.npz`, the last two kept) and, when a run starts
    from a backup of epoch k, restores those of epoch k.

    Example:

    >>> import keras, tempfile
    >>> callback = RandomState(tempfile.mkdtemp())
    >>> callback.set_model(keras.Sequential(
    ...     [keras.Input((2,)), keras.layers.Dropout(0.5, seed=1)]))
    >>> callback.on_epoch_end(0)
    >>> sorted(p.name for p in callback.backup_dir.iterdir())
    ['seeds-1.npz']
    """

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = pathlib.Path(backup_dir)

    def _states(self):
        return [
            v for v in self.model.variables if "seed_generator_state" in v.path
        ]

    def on_train_begin(self, logs=None):
        epoch = _completed_epochs(self.backup_dir)
        path = self.backup_dir / f"seeds-{epoch}.npz"
        if not epoch or not path.is_file():
            return
        with np.load(path) as stored:
            for variable in self._states():
                if variable.path in stored.files:
                    variable.assign(stored[variable.path])

    def on_epoch_end(self, epoch, logs=None):
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        path = self.backup_dir / f"seeds-{epoch + 1}.npz"
        temporary = self.backup_dir / f".seeds-{epoch + 1}.tmp.npz"
        np.savez(temporary, **{v.path: np.asarray(v) for v in self._states()})
        os.replace(temporary, path)
        (self.backup_dir / f"seeds-{epoch - 1}.npz").unlink(missing_ok=True)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras's `BackupAndRestore`, with a backup that is never half new.

    Keras 3.15 overwrites `latest.weights.h5` in place and then rewrites
    `training_metadata.json`. A process killed during the first write
    leaves weights that cannot be read, so the run cannot resume; killed
    between the two, it leaves weights of epoch k+1 under a record of
    epoch k, and the resumed run trains epoch k+1 twice without a word.
    Here each backup's weights go to a new file (`epoch-K.weights.h5`,
    flushed to disk), then the metadata, which names that file, replaces
    the old metadata with one atomic rename, and only then is the previous
    weights file removed. Whenever the process dies, the metadata names a
    whole weights file of the epoch it records.

    Args:
        backup_dir: str or path. The backup folder.
        **kwargs: the other arguments of `keras.callbacks.BackupAndRestore`
            (`save_freq`, `delete_checkpoint`).

    Example:

    >>> import keras, numpy as np, pathlib, tempfile
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> folder = tempfile.mkdtemp()
    >>> backup = AtomicBackupAndRestore(folder, delete_checkpoint=False)
    >>> _ = model.fit(np.ones((4, 2)), np.ones(4), epochs=2, verbose=0,
    ...               callbacks=[backup])
    >>> sorted(p.name for p in pathlib.Path(folder).iterdir())
    ['epoch-2.weights.h5', 'training_metadata.json']
    """

    def _write_weights(self, path):
        self.model.save_weights(filepath=str(path), overwrite=True)
        with open(path, "rb+") as handle:
            os.fsync(handle.fileno())

    def _write_metadata(self, metadata):
        folder = pathlib.Path(self.backup_dir)
        temporary = folder / f".{_BACKUP_METADATA}.partial-{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(metadata, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / _BACKUP_METADATA)

    def _save_model(self):
        folder = pathlib.Path(self.backup_dir)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{self._current_epoch}"
        if self.save_freq != "epoch":
            name += f"-batch-{self._last_batch_seen}"
        name += ".weights.h5"
        self._write_weights(folder / name)
        self._write_metadata(
            {
                "epoch": self._current_epoch,
                "batch": self._last_batch_seen,
                "weights": name,
            }
        )
        for stale in folder.iterdir():
            if stale.name != name and (
                stale.name.endswith(".weights.h5") or ".partial-" in stale.name
            ):
                stale.unlink(missing_ok=True)

    def _load_model(self):
        path = pathlib.Path(self.backup_dir) / _BACKUP_METADATA
        if path.is_file():
            name = json.loads(path.read_text(encoding="utf-8")).get("weights")
            if name:
                self._weights_path = str(pathlib.Path(self.backup_dir) / name)
        super()._load_model()


@dataclasses.dataclass
class TrainingResult:
    """What `train` returns.

    Attributes:
        model: the trained model, with the best weights when a validation
            metric was monitored.
        history: list of dicts, one per epoch (`epoch`, `loss`, metrics,
            `val_*` on validated epochs), resumed epochs included.
        best_epoch: int or None. The epoch whose weights the model holds,
            when chosen on validation.
        output_dir: pathlib.Path.
        strategy: the `tf.distribute.Strategy` used.

    Example:

    >>> import pathlib, tensorflow as tf
    >>> result = TrainingResult(None, [{"epoch": 1, "loss": 0.7}], None,
    ...     pathlib.Path("run"), tf.distribute.get_strategy())
    >>> result.history[-1]["loss"]
    0.7
    """

    model: keras.Model
    history: list
    best_epoch: int | None
    output_dir: pathlib.Path
    strategy: tf.distribute.Strategy


def _completed_epochs(backup_dir):
    path = backup_dir / _BACKUP_METADATA
    if not path.is_file():
        return 0
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["epoch"])
    except (ValueError, KeyError, TypeError):
        return 0  # Keras's callback reports unreadable backups itself.


def _build_from_first_replica(model):
    """Works around keras-team/keras#20585 under several workers.

    Before training, Keras 3.15 (`_maybe_symbolic_build` of its TensorFlow
    trainer) averages the replicas' first batch with `strategy.reduce`,
    which `MultiWorkerMirroredStrategy` cannot do for a nested batch: fit
    fails before its first step. The batch is only used for its shapes
    and dtypes, so this takes the first local replica's part instead and
    leaves the rest of Keras's build as it is.
    """
    build = type(model)._maybe_symbolic_build

    def first_replica_build(iterator=None, data_batch=None):
        strategy = model.distribute_strategy
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = tf.nest.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0],
                    next(it),
                )
                break
        return build(model, iterator=None, data_batch=data_batch)

    model._maybe_symbolic_build = first_replica_build


def _mean_logs_over_workers():
    """Works around Keras 3.15's log averaging under several workers.

    After each step Keras averages the replicas' logged values (loss,
    metrics: scalars) with `strategy.reduce("MEAN", v, axis=0)` when the
    strategy spans workers, which fails on a scalar ("Invalid reduction
    dimension 0 for input with 0 dimensions"), so fit cannot take its
    first step (keras-team/keras#20585). The mean over replicas is what
    Keras computes on one machine; across workers it is
    `strategy.reduce("MEAN", v, axis=None)`. Other reductions, and every
    other strategy, go to Keras's own function.
    """
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "_keras_attn_patch", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        ):
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), values
            )
        return original(values, strategy, reduction)

    reduce_per_replica._keras_attn_patch = True
    trainer.reduce_per_replica = reduce_per_replica


def _worker_suffix(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    task = getattr(resolver, "task_id", None)
    return "" if not task else f"-worker{task}"


def _as_examples(data):
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, tuple | list):
        return tf.data.Dataset.from_tensor_slices(tuple(data))
    raise TypeError(
        "Expected an unbatched tf.data.Dataset or a tuple of arrays "
        f"(inputs, labels[, weights]); received {type(data).__name__}."
    )


def _as_batches(data, batch_size):
    if data is None:
        return None
    if not isinstance(data, tf.data.Dataset):
        data = _as_examples(data).batch(batch_size)
    return data.map(_bool_to_int32)


def train(
    build_model,
    train_data,
    *,
    epochs,
    batch_size,
    output_dir,
    validation_data=None,
    map_batch=None,
    strategy="auto",
    precision="float32",
    learning_rate=5e-5,
    warmup_fraction=0.1,
    weight_decay=0.01,
    global_clipnorm=1.0,
    loss=None,
    metrics=("accuracy",),
    monitor=None,
    validation_freq=1,
    seed=0,
    seed_keras=True,
    shuffle=True,
    jit_compile="auto",
    backup=True,
    tensorboard=True,
    callbacks=(),
    verbose="auto",
):
    """Builds, compiles and fits a model with the fine-tuning recipe.

    Run the same call again after a crash and it resumes from the last
    completed epoch (Keras's `BackupAndRestore`), with the same data
    order, so it ends where an uninterrupted run ends. A finished run
    removes its backup; calling again then trains afresh.

    Args:
        build_model: function of no arguments returning the uncompiled
            `keras.Model`; it is called inside `strategy.scope()` and the
            precision policy.
        train_data: an unbatched `tf.data.Dataset` of finite size, or a
            tuple of arrays, of `(inputs, labels)` or `(inputs, labels,
            sample_weights)`.
        epochs: int.
        batch_size: int. The global batch, split across replicas.
        output_dir: folder for `backup/`, `best.weights.h5`,
            `history.json` and `logs/` (TensorBoard).
        validation_data: optional batched `tf.data.Dataset`, or a tuple of
            arrays, evaluated every `validation_freq` epochs.
        map_batch: optional function mapping each training batch to the
            model's `(inputs, labels[, weights])`, run inside `tf.data`
            (for example a keras-hub preprocessor).
        strategy: a name for `distribute.get_strategy` or a strategy.
        precision: `"float32"`, `"mixed_float16"` or `"mixed_bfloat16"`.
        learning_rate, warmup_fraction, weight_decay, global_clipnorm:
            see `fine_tuning_optimizer`.
        loss: Keras loss; defaults to sparse categorical cross-entropy on
            logits.
        metrics: Keras metrics.
        monitor: the logged value whose best epoch is kept; defaults to
            `"val_accuracy"` when validating with an accuracy metric,
            else `"val_loss"`; ignored without validation data.
        validation_freq: int. Validate every this many epochs.
        seed: int. Seeds Keras (weights, dropout) and the shuffling.
        seed_keras: bool. Call `keras.utils.set_random_seed(seed)` first.
            Pass False after seeding yourself when a SentencePiece
            tokenizer already exists: TensorFlow's `set_seed` clears the
            eager kernel cache, and with it the tokenizer's resource.
        shuffle: bool.
        jit_compile: passed to `model.compile` (Keras turns XLA off under
            a multi-replica strategy).
        backup: bool. Use `BackupAndRestore` in `output_dir/backup`.
        tensorboard: bool. Write TensorBoard logs to `output_dir/logs`.
        callbacks: more Keras callbacks.
        verbose: `model.fit` verbosity.

    Returns:
        TrainingResult.

    Example:

    >>> import numpy as np, keras, tempfile
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> result = train(
    ...     lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)
    ...                               ]),
    ...     (x, y), epochs=2, batch_size=16, output_dir=tempfile.mkdtemp(),
    ...     learning_rate=1e-2, validation_data=(x, y), verbose=0)
    >>> [record["epoch"] for record in result.history]
    [1, 2]
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(
            f"`epochs` must be a positive int; received {epochs!r}."
        )
    if not isinstance(validation_freq, int) or validation_freq < 1:
        raise ValueError(
            "`validation_freq` must be a positive int; received "
            f"{validation_freq!r}."
        )
    strategy = distribute.get_strategy(strategy)
    chief = distribute.is_chief(strategy)
    output_dir = pathlib.Path(output_dir)
    # Non-chief workers of a multi-worker run compute the same weights
    # and must not write over the chief's files.
    files = output_dir if chief else pathlib.Path(tempfile.mkdtemp())
    files.mkdir(parents=True, exist_ok=True)
    backup_dir = output_dir / f"backup{_worker_suffix(strategy)}"
    initial_epoch = _completed_epochs(backup_dir) if backup else 0
    if initial_epoch == 0:
        for stale in ("history.json", "best.weights.h5.json"):
            (files / stale).unlink(missing_ok=True)

    if seed_keras:
        keras.utils.set_random_seed(seed)
    stream, steps = epoch_stream(
        _as_examples(train_data),
        batch_size,
        epochs,
        initial_epoch=min(initial_epoch, epochs - 1),
        shuffle=shuffle,
        seed=seed,
        map_batch=map_batch,
    )
    validation = _as_batches(validation_data, batch_size)
    with strategy.scope(), distribute.precision(precision):
        model = build_model()
        model.compile(
            optimizer=fine_tuning_optimizer(
                steps * epochs,
                learning_rate,
                warmup_fraction=warmup_fraction,
                weight_decay=weight_decay,
                global_clipnorm=global_clipnorm,
            ),
            loss=loss
            or keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=list(metrics),
            jit_compile=jit_compile,
        )
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _build_from_first_replica(model)
        _mean_logs_over_workers()
    if monitor is None:
        monitor = "val_accuracy" if "accuracy" in metrics else "val_loss"
    run_callbacks = [EpochLog(files / "history.json", initial_epoch)]
    keep_best = None
    if validation is not None:
        keep_best = KeepBest(files / "best.weights.h5", monitor=monitor)
        run_callbacks.append(keep_best)
    if tensorboard and chief:
        run_callbacks.append(keras.callbacks.TensorBoard(files / "logs"))
    # Last, so that a backup is written only after the epoch's other
    # records: a kill in between redoes the epoch, never skips one.
    if backup:
        run_callbacks.append(RandomState(backup_dir))
        run_callbacks.append(AtomicBackupAndRestore(backup_dir))
    run_callbacks.extend(callbacks)
    model.fit(
        stream,
        epochs=epochs,
        steps_per_epoch=steps,
        initial_epoch=initial_epoch,
        validation_data=validation,
        validation_freq=validation_freq,
        callbacks=run_callbacks,
        shuffle=False,  # the stream is shuffled, per epoch, above
        verbose=verbose,
    )
    best_epoch = None
    if keep_best is not None and keep_best.best_epoch is not None:
        model.load_weights(keep_best.weights_path)
        best_epoch = keep_best.best_epoch
    return TrainingResult(
        model=model,
        history=run_callbacks[0].records,
        best_epoch=best_epoch,
        output_dir=output_dir,
        strategy=strategy,
    )


def plot_history(history, path, title=None):
    """Loss and the first metric per epoch, training and validation.

    Args:
        history: `TrainingResult.history` (a list of per-epoch dicts) or
            a Keras `History` / its `.history` dict.
        path: where to write the PNG.
        title: optional figure title.

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "curves.png"
    >>> plot_history([{"epoch": 1, "loss": 0.9, "val_loss": 1.0},
    ...               {"epoch": 2, "loss": 0.5}], path)
    >>> path.stat().st_size > 0
    True
    """
    from keras_attn.viz import _pyplot

    if hasattr(history, "history"):
        history = history.history
    if isinstance(history, dict):
        count = len(history["loss"])
        history = [
            {"epoch": i + 1, **{k: v[i] for k, v in history.items()}}
            for i in range(count)
        ]
    names = [k for k in history[0] if k not in ("epoch", "learning_rate")]
    metrics = [k for k in names if not k.startswith("val_")]
    metrics = ["loss"] + [k for k in metrics if k != "loss"][:1]
    plt = _pyplot()
    figure, axes = plt.subplots(
        1, len(metrics), figsize=(5 * len(metrics), 3.8)
    )
    axes = np.atleast_1d(axes)
    for ax, metric in zip(axes, metrics, strict=True):
        for key, label in ((metric, "training"), (f"val_{metric}", "held out")):
            points = [(r["epoch"], r[key]) for r in history if key in r]
            if points:
                epochs, values = zip(*points, strict=True)
                ax.plot(
                    epochs,
                    values,
                    marker="." if key != metric else None,
                    label=label,
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)
