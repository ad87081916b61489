"""What the task models share: class names, labels given as names, and
inputs that are already the network's.

A task (keras-hub's `keras_hub.models.Task`) is a functional model with a
backbone, a preprocessor and a head; `fit`, `predict` and `evaluate` run
the preprocessor on raw inputs (strings, images) inside `tf.data`. The
mixin here adds what keras-hub's tasks leave to the user: the names of the
classes, saved in the model's config, and labels that may be those names.
"""

import keras
import numpy as np


def check_class_names(class_names, num_classes):
    """`(class_names as a list of str or None, num_classes)`, checked."""
    if class_names is None:
        if not isinstance(num_classes, int) or isinstance(num_classes, bool):
            raise ValueError(
                "Give `num_classes` (an int) or `class_names` (a list of "
                f"str); received num_classes={num_classes!r}."
            )
        return None, num_classes
    if isinstance(class_names, str) or not all(
        isinstance(name, str) for name in class_names
    ):
        raise TypeError(
            "`class_names` must be a list of str, one per class in output "
            f"order; received {class_names!r}."
        )
    class_names = list(class_names)
    if len(set(class_names)) != len(class_names):
        raise ValueError(
            f"`class_names` repeats a name: {class_names}. Expected each "
            "class once."
        )
    if num_classes is not None and num_classes != len(class_names):
        raise ValueError(
            f"`num_classes` is {num_classes} but `class_names` holds "
            f"{len(class_names)} names: {class_names[:8]}."
        )
    return class_names, len(class_names)


def _is_dataset(x):
    import tensorflow as tf

    return isinstance(x, tf.data.Dataset) or hasattr(x, "__next__")


def shuffled_batches(x, y, sample_weight, batch_size, seed=None):
    """`tf.data` batches of `(x, y, sample_weight)`, reshuffled each epoch."""
    import tensorflow as tf

    samples = keras.utils.pack_x_y_sample_weight(x, y, sample_weight)
    dataset = tf.data.Dataset.from_tensor_slices(samples)
    count = int(dataset.cardinality())
    return dataset.shuffle(
        count, seed=seed, reshuffle_each_iteration=True
    ).batch(batch_size)


class TaskMixin:
    """Mixin for our keras-hub tasks: inputs that are already the
    network's pass through, list inputs are shuffled in `fit`, and a
    `.keras` file restores the compilation (keras-hub's tasks override
    `compile`, so Keras skips it on load and warns)."""

    def preprocess_samples(self, x, y=None, sample_weight=None):
        # Inputs that are already the network's (a dict of token ids, as
        # the functional models take) skip the preprocessor, so the task
        # also runs where its functional model ran.
        if not isinstance(x, dict):
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(
                super().preprocess_samples(x, y, sample_weight)
            )
        if isinstance(x, dict):
            # keras-hub's padding masks are boolean; our networks take
            # int32, and under a distribution strategy Keras 3.15 averages
            # the replicas' first batch, which fails for booleans.
            x = {
                name: keras.ops.cast(value, "int32")
                if keras.backend.standardize_dtype(value.dtype) == "bool"
                else value
                for name, value in x.items()
            }
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        shuffle=True,
        seed=None,
        **kwargs,
    ):
        """keras-hub's `fit`, with array or list inputs shuffled each epoch
        (`shuffle=True`, as Keras does; keras-hub 0.32 batches them in
        order and ignores `shuffle`). `seed` fixes the order."""
        if shuffle and x is not None and not _is_dataset(x):
            sample_weight = kwargs.pop("sample_weight", None)
            x = shuffled_batches(x, y, sample_weight, batch_size or 32, seed)
            y = batch_size = None
        self._build_optimizer()
        return super().fit(
            x,
            y,
            batch_size=batch_size,
            shuffle=False,  # shuffled above, or a dataset as it comes
            **kwargs,
        )

    def _build_optimizer(self):
        """Creates the optimizer's variables before the first `fit` on
        TensorFlow, under the model's strategy, as Keras does itself only
        when a strategy is set: left to the first traced training step,
        their creation made that trace far slower (the README's MiniLM
        classifier's first `fit`: 13.7 s of CPU, 5.9 s built first; the
        same losses)."""
        optimizer = getattr(self, "optimizer", None)
        if (
            keras.backend.backend() != "tensorflow"
            or optimizer is None
            or optimizer.built
            or not self.built
        ):
            return
        with self.distribute_strategy.scope():
            optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        # keras-hub's `compile` takes Keras's own arguments.
        self.compile(**keras.saving.deserialize_keras_object(config))
        if hasattr(self, "optimizer") and self.built:
            self.optimizer.build(self.trainable_variables)


class ClassifierTask(TaskMixin):
    """Mixin for classifier tasks: `class_names`, labels given as names,
    and `classify`.

    The class using it sets `self.class_names` (a list of str, or None)
    and `self.num_classes`.
    """

    def _label_ids(self, y):
        """`y` with class names replaced by their index; ids unchanged."""
        if y is None or self.class_names is None:
            return y
        values = np.asarray(y)
        if values.dtype.kind not in "USO":
            return y
        index = {name: i for i, name in enumerate(self.class_names)}
        unknown = sorted({str(v) for v in values.ravel()} - set(index))
        if unknown:
            raise ValueError(
                f"Labels {unknown[:5]} are not among the task's classes "
                f"{self.class_names[:8]}; expected those names or their "
                "indices."
            )
        return np.vectorize(index.__getitem__, otypes=["int32"])(
            values.astype(str)
        )

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """`TaskMixin.fit`, with labels that may be class names."""
        if isinstance(validation_data, tuple) and len(validation_data) >= 2:
            validation_data = (
                validation_data[0],
                self._label_ids(validation_data[1]),
                *validation_data[2:],
            )
        return super().fit(
            x, self._label_ids(y), validation_data=validation_data, **kwargs
        )

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(x, self._label_ids(y), *args, **kwargs)

    def classify(self, inputs, top_k=1, batch_size=32):
        """The `top_k` classes of each input with their probabilities.

        Args:
            inputs: what `predict` takes (strings for text, images for
                images, or the network's own inputs).
            top_k: int. Classes per input, most probable first.
            batch_size: int.

        Returns:
            A list with, per input, a list of `(class name, probability)`
            (the index as a str when the task has no class names).
        """
        if not isinstance(top_k, int) or not 1 <= top_k <= self.num_classes:
            raise ValueError(
                f"`top_k` must be an int in [1, {self.num_classes}]; "
                f"received {top_k!r}."
            )
        probabilities = self.probabilities(inputs, batch_size)
        names = self.label_names
        order = np.argsort(-probabilities, axis=-1, kind="stable")[:, :top_k]
        return [
            [(names[i], float(row[i])) for i in best]
            for row, best in zip(probabilities, order, strict=True)
        ]

    @property
    def label_names(self):
        """The class names, or the indices as str when there are none."""
        return self.class_names or [str(i) for i in range(self.num_classes)]

    def probabilities(self, inputs, batch_size=32):
        """The softmax of `predict(inputs)`: float64 `(batch, classes)`."""
        logits = np.asarray(
            self.predict(inputs, batch_size=batch_size, verbose=0), "float64"
        )
        logits -= logits.max(axis=-1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=-1, keepdims=True)
