"""The training data as an epoch-indexed `tf.data` stream."""

import math

import tensorflow as tf


def bool_to_int32(*batch):
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
    stream = one_epoch(initial_epoch).map(bool_to_int32)
    for epoch in range(initial_epoch + 1, epochs):
        stream = stream.concatenate(one_epoch(epoch).map(bool_to_int32))
    options = tf.data.Options()
    options.deterministic = True
    # In-memory data has no files to shard by: each worker takes its part
    # of every global batch.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    stream = stream.with_options(options).prefetch(tf.data.AUTOTUNE)
    return stream, math.ceil(count / batch_size)


def as_examples(data):
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, tuple | list):
        return tf.data.Dataset.from_tensor_slices(tuple(data))
    raise TypeError(
        "Expected an unbatched tf.data.Dataset or a tuple of arrays "
        f"(inputs, labels[, weights]); received {type(data).__name__}."
    )


def as_batches(data, batch_size):
    if data is None:
        return None
    if not isinstance(data, tf.data.Dataset):
        data = as_examples(data).batch(batch_size)
    return data.map(bool_to_int32)
