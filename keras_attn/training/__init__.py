"""`model.fit` with the fine-tuning recipe, under a distribution strategy.

`train` builds the model inside `strategy.scope()` (and a precision
policy), compiles it with AdamW, a linear warm-up then cosine decay of
the learning rate and gradient clipping by global norm, and fits it on
an epoch-indexed `tf.data` stream with Keras's own callbacks:
`BackupAndRestore` (a run killed at any moment restarts from its last
completed epoch when the same command is run again), `TensorBoard`, and
small ones of ours that survive restarts too: the best weights on the
validation metric, and the history of every epoch as JSON.

Everything distributed is TensorFlow's: the strategy splits each global
batch across replicas and all-reduces the gradients.

- `loop`: `train` and `TrainingResult`;
- `optimizer`: `fine_tuning_optimizer`, `NO_DECAY`;
- `stream`: `epoch_stream`;
- `callbacks`: `EpochLog`, `KeepBest`, `RandomState`,
  `AtomicBackupAndRestore`;
- `distribute`: strategies and precision policies by name (also
  importable as `keras_attn.distribute`);
- `plots`: `plot_history`;
- `progress`: `fit_progress`, `EpochLine` (a live bar on a terminal, one
  plain line per epoch in a log).

Floor 3: it imports the floor-1 modules (`_compat`, `_choices`, `viz`)
and Keras and TensorFlow, never the models or the applications.
"""

from keras_attn.training import distribute  # noqa: F401  (a submodule)
from keras_attn.training.callbacks import AtomicBackupAndRestore
from keras_attn.training.callbacks import EpochLog
from keras_attn.training.callbacks import KeepBest
from keras_attn.training.callbacks import RandomState
from keras_attn.training.loop import TrainingResult
from keras_attn.training.loop import train
from keras_attn.training.optimizer import NO_DECAY
from keras_attn.training.optimizer import fine_tuning_optimizer
from keras_attn.training.plots import plot_history
from keras_attn.training.progress import EpochLine
from keras_attn.training.progress import fit_progress
from keras_attn.training.stream import epoch_stream

__all__ = [
    "AtomicBackupAndRestore",
    "EpochLine",
    "EpochLog",
    "KeepBest",
    "NO_DECAY",
    "RandomState",
    "TrainingResult",
    "epoch_stream",
    "fine_tuning_optimizer",
    "fit_progress",
    "plot_history",
    "train",
]
