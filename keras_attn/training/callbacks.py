"""The callbacks of `train`, each one safe to kill and resume.

`EpochLog` (the history as JSON), `KeepBest` (the best weights on the
validation metric), `RandomState` (the dropout streams) and
`AtomicBackupAndRestore` (Keras's backup, never half new) all keep their
state on disk so that a run killed at any moment resumes as if it had
not been.
"""

import json
import math
import os
import pathlib

import keras
import numpy as np

from keras_attn import _compat

# Keras's BackupAndRestore keeps the last completed epoch here, inside
# its backup folder.
_BACKUP_METADATA = _compat.BACKUP_METADATA


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
        epoch = completed_epochs(self.backup_dir)
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


class AtomicBackupAndRestore(_compat.BackupAndRestoreHooks):
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

    def save_backup(self):
        folder = pathlib.Path(self.backup_dir)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{self.backup_epoch}"
        if self.save_freq != "epoch":
            name += f"-batch-{self.backup_batch}"
        name += ".weights.h5"
        self._write_weights(folder / name)
        self._write_metadata(
            {
                "epoch": self.backup_epoch,
                "batch": self.backup_batch,
                "weights": name,
            }
        )
        for stale in folder.iterdir():
            if stale.name != name and (
                stale.name.endswith(".weights.h5") or ".partial-" in stale.name
            ):
                stale.unlink(missing_ok=True)

    def load_backup(self):
        path = pathlib.Path(self.backup_dir) / _BACKUP_METADATA
        if path.is_file():
            name = json.loads(path.read_text(encoding="utf-8")).get("weights")
            if name:
                self.weights_path = pathlib.Path(self.backup_dir) / name
        super().load_backup()


def completed_epochs(backup_dir):
    path = backup_dir / _BACKUP_METADATA
    if not path.is_file():
        return 0
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["epoch"])
    except (ValueError, KeyError, TypeError):
        return 0  # Keras's callback reports unreadable backups itself.
