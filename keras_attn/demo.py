"""The quick-start job: a small Transformer classifier built from
`keras_attn.layers`, trained with `model.fit` on data this module makes.

The task needs attention and word order: each example is a padded sequence
of random tokens in which two marker tokens, A and B, appear once each;
the label says whether A comes before B. A bag of words cannot solve it
(both markers are always present); position embeddings plus attention can.
"""

import numpy as np

PAD, MARK_A, MARK_B = 0, 1, 2
VOCABULARY_SIZE = 32


def make_order_task(num_examples, max_length=24, min_length=6, seed=0):
    """Returns `(token_ids, labels)` for the A-before-B task.

    `token_ids` is int32 `(num_examples, max_length)`, right-padded with 0;
    `labels` is int32 `(num_examples,)`, 1 when A precedes B, balanced.
    """
    rng = np.random.default_rng(seed)
    ids = np.zeros((num_examples, max_length), np.int32)
    labels = rng.integers(0, 2, num_examples).astype(np.int32)
    for row in range(num_examples):
        length = rng.integers(min_length, max_length + 1)
        ids[row, :length] = rng.integers(3, VOCABULARY_SIZE, length)
        first, second = sorted(rng.choice(length, 2, replace=False))
        a, b = (first, second) if labels[row] else (second, first)
        ids[row, a], ids[row, b] = MARK_A, MARK_B
    return ids, labels


def build_classifier(max_length=24, hidden_dim=32, num_heads=4, num_layers=2):
    """A functional-API Transformer classifier from keras_attn layers."""
    import keras

    from keras_attn import layers

    token_ids = keras.Input((max_length,), dtype="int32", name="token_ids")
    padding_mask = keras.ops.not_equal(token_ids, PAD)
    x = keras.layers.Embedding(VOCABULARY_SIZE, hidden_dim)(token_ids)
    x = x + layers.PositionalEmbedding(max_length)(x)
    for _ in range(num_layers):
        x = layers.TransformerEncoder(
            intermediate_dim=2 * hidden_dim,
            num_heads=num_heads,
            dropout=0.1,
            activation="gelu",
        )(x, padding_mask=padding_mask)
    x = layers.BertPooler()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    return keras.Model(token_ids, outputs, name="order_classifier")


def run(epochs=12, num_examples=4000, seed=0, verbose=1):
    """Trains on a made-up split and returns held-out accuracy."""
    import keras

    keras.utils.set_random_seed(seed)
    ids, labels = make_order_task(num_examples, seed=seed)
    test_ids, test_labels = make_order_task(1000, seed=seed + 1)
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=2e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    if verbose:
        model.summary()
    model.fit(
        ids,
        labels,
        batch_size=64,
        epochs=epochs,
        validation_split=0.1,
        verbose=verbose,
    )
    _, accuracy = model.evaluate(test_ids, test_labels, verbose=0)
    return float(accuracy)
