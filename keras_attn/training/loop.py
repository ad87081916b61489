"""`train`: build, compile and fit with the fine-tuning recipe, resumable.

`train` runs these steps, each a function here:

1. `_run_folders`: where this process writes (non-chief workers of a
   multi-worker run write to a scratch folder) and the epoch a backup
   left off at;
2. the data: an epoch-indexed stream (`stream.epoch_stream`) so that a
   resumed run sees the batches an uninterrupted one sees;
3. `_compiled_model`: the model built and compiled inside the strategy's
   scope and the precision policy, with `optimizer.fine_tuning_optimizer`;
4. `_run_callbacks`: the history, the best weights, TensorBoard and the
   backup (`callbacks`);
5. `model.fit` inside `_strategy_fixes` (Keras workarounds scoped to this
   fit, see `keras_attn._compat`);
6. `_restore_best`: the best epoch's weights back in the model.
"""

import contextlib
import dataclasses
import pathlib
import tempfile

import keras
import tensorflow as tf

from keras_attn import _compat
from keras_attn.training import distribute
from keras_attn.training.callbacks import AtomicBackupAndRestore
from keras_attn.training.callbacks import EpochLog
from keras_attn.training.callbacks import KeepBest
from keras_attn.training.callbacks import RandomState
from keras_attn.training.callbacks import completed_epochs
from keras_attn.training.optimizer import fine_tuning_optimizer
from keras_attn.training.progress import fit_progress
from keras_attn.training.stream import as_batches
from keras_attn.training.stream import as_examples
from keras_attn.training.stream import epoch_stream


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


@dataclasses.dataclass
class _RunFolders:
    """Where a run reads and writes.

    `output` is the folder asked for; `files` is where this process
    writes its records (`output` itself, or a scratch folder on the
    non-chief workers of a multi-worker run, which compute the same
    weights and must not write over the chief's files); `backup` is the
    `BackupAndRestore` folder (one per worker); `initial_epoch` is the
    last epoch a backup there completed (0 without one).
    """

    output: pathlib.Path
    files: pathlib.Path
    backup: pathlib.Path
    initial_epoch: int


def _check_counts(epochs, validation_freq):
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(
            f"`epochs` must be a positive int; received {epochs!r}."
        )
    if not isinstance(validation_freq, int) or validation_freq < 1:
        raise ValueError(
            "`validation_freq` must be a positive int; received "
            f"{validation_freq!r}."
        )


def _worker_suffix(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    task = getattr(resolver, "task_id", None)
    return "" if not task else f"-worker{task}"


def _run_folders(output_dir, strategy, chief, backup):
    """The run's folders; a fresh run's stale records removed."""
    output = pathlib.Path(output_dir)
    files = output if chief else pathlib.Path(tempfile.mkdtemp())
    files.mkdir(parents=True, exist_ok=True)
    backup_dir = output / f"backup{_worker_suffix(strategy)}"
    initial_epoch = completed_epochs(backup_dir) if backup else 0
    if initial_epoch == 0:
        for stale in ("history.json", "best.weights.h5.json"):
            (files / stale).unlink(missing_ok=True)
    return _RunFolders(output, files, backup_dir, initial_epoch)


def _compiled_model(
    build_model,
    strategy,
    precision,
    total_steps,
    optimizer_options,
    loss,
    metrics,
    jit_compile,
):
    """`build_model()` compiled, both inside the strategy's scope and the
    precision policy."""
    with strategy.scope(), distribute.precision(precision):
        model = build_model()
        model.compile(
            optimizer=fine_tuning_optimizer(total_steps, **optimizer_options),
            loss=loss
            or keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=list(metrics),
            jit_compile=jit_compile,
        )
    return model


def _run_callbacks(folders, validation, monitor, chief, options):
    """`(callbacks, epoch_log, keep_best)`; `keep_best` is None without
    validation data. `options`: `tensorboard`, `backup`, `callbacks`."""
    epoch_log = EpochLog(folders.files / "history.json", folders.initial_epoch)
    callbacks = [epoch_log]
    keep_best = None
    if validation is not None:
        keep_best = KeepBest(folders.files / "best.weights.h5", monitor=monitor)
        callbacks.append(keep_best)
    if options["tensorboard"] and chief:
        callbacks.append(keras.callbacks.TensorBoard(folders.files / "logs"))
    # Last, so that a backup is written only after the epoch's other
    # records: a kill in between redoes the epoch, never skips one.
    if options["backup"]:
        callbacks.append(RandomState(folders.backup))
        callbacks.append(AtomicBackupAndRestore(folders.backup))
    callbacks.extend(options["callbacks"])
    return callbacks, epoch_log, keep_best


def _strategy_fixes(model, strategy):
    """The Keras workarounds this strategy needs, for one fit.

    `MultiWorkerMirroredStrategy` fails before its first step without the
    two of keras-team/keras#20585 (`_compat.build_from_first_replica` and
    `_compat.mean_logs_over_workers`); both are undone when the block
    ends. Other strategies need none.
    """
    fixes = contextlib.ExitStack()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        fixes.enter_context(_compat.build_from_first_replica(model))
        fixes.enter_context(_compat.mean_logs_over_workers())
    return fixes


def _restore_best(model, keep_best):
    """Loads the best epoch's weights, if one was kept; its number."""
    if keep_best is None or keep_best.best_epoch is None:
        return None
    model.load_weights(keep_best.weights_path)
    return keep_best.best_epoch


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
        verbose: the progress shown (`progress.fit_progress`): `"auto"`
            (Keras's live bar on a terminal, one plain line per epoch when
            the output goes to a file or a pipe), `"bar"`, `"epoch"`,
            `"none"`, or Keras's `verbose` 0, 1 or 2.

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
    _check_counts(epochs, validation_freq)
    fit_verbose, progress_callbacks = fit_progress(verbose)
    strategy = distribute.get_strategy(strategy)
    chief = distribute.is_chief(strategy)
    folders = _run_folders(output_dir, strategy, chief, backup)

    if seed_keras:
        keras.utils.set_random_seed(seed)
    stream, steps = epoch_stream(
        as_examples(train_data),
        batch_size,
        epochs,
        initial_epoch=min(folders.initial_epoch, epochs - 1),
        shuffle=shuffle,
        seed=seed,
        map_batch=map_batch,
    )
    validation = as_batches(validation_data, batch_size)
    model = _compiled_model(
        build_model,
        strategy,
        precision,
        steps * epochs,
        {
            "learning_rate": learning_rate,
            "warmup_fraction": warmup_fraction,
            "weight_decay": weight_decay,
            "global_clipnorm": global_clipnorm,
        },
        loss,
        metrics,
        jit_compile,
    )
    if monitor is None:
        monitor = "val_accuracy" if "accuracy" in metrics else "val_loss"
    run_callbacks, epoch_log, keep_best = _run_callbacks(
        folders,
        validation,
        monitor,
        chief,
        {
            "tensorboard": tensorboard,
            "backup": backup,
            # Last: the line of an epoch follows its records.
            "callbacks": [*callbacks, *progress_callbacks],
        },
    )
    with _strategy_fixes(model, strategy):
        model.fit(
            stream,
            epochs=epochs,
            steps_per_epoch=steps,
            initial_epoch=folders.initial_epoch,
            validation_data=validation,
            validation_freq=validation_freq,
            callbacks=run_callbacks,
            shuffle=False,  # the stream is shuffled, per epoch, above
            verbose=fit_verbose,
        )
    return TrainingResult(
        model=model,
        history=epoch_log.records,
        best_epoch=_restore_best(model, keep_best),
        output_dir=folders.output,
        strategy=strategy,
    )
