import keras

from keras_attn.layers import _ids


@keras.saving.register_keras_serializable(package="keras_attn")
class TokenEmbedding(keras.layers.ReversibleEmbedding):
    """An embedding table that refuses ids outside it.

    `keras.layers.ReversibleEmbedding` (so `reverse=True` projects back to
    logits with the transposed table) whose lookup checks every id against
    `[0, input_dim)`. Keras's own lookup reads the last row for id -1, and
    TensorFlow's GPU gather returns zeros for ids past the table; here:

    - eager calls raise `ValueError` listing the bad ids and where they are;
    - a TensorFlow graph (`fit`, `predict`, a SavedModel) stops with
      `InvalidArgumentError` carrying the same message;
    - where nothing can raise (XLA, which drops TensorFlow's `Assert`, and
      JAX under `jit`), the vector of a bad id is NaN, so the loss or the
      output shows it;
    - a `.tflite` file exported by `keras_attn.export` looks ids up with a
      plain GATHER, which LiteRT refuses for bad ids (`invoke` raises
      `RuntimeError`; the interpreter stays usable).

    Args:
        input_dim: int. Number of rows (ids `0 ... input_dim - 1`).
        output_dim: int. Vector size.
        ids_name: str. What the ids are called in error messages. Defaults
            to `"token_ids"`.
        **kwargs: the arguments of `keras.layers.ReversibleEmbedding`
            (`tie_weights`, `embeddings_initializer`, `name`, ...).

    Call arguments:
        inputs: integer tensor of ids, or with `reverse=True` a float
            `(..., output_dim)` tensor.
        reverse: bool. Project vectors to `(..., input_dim)` logits.

    Returns:
        `(*inputs.shape, output_dim)` vectors, or logits with `reverse=True`.

    Raises:
        TypeError: for non-integer ids.
        ValueError: for ids outside `[0, input_dim)` (eager calls).

    Example:

    >>> import numpy as np
    >>> table = TokenEmbedding(input_dim=10, output_dim=4)
    >>> tuple(table(np.array([[1, 2, 9]])).shape)
    (1, 3, 4)
    >>> try:
    ...     table(np.array([[1, -1]]))
    ... except ValueError as error:
    ...     print("received 1 id(s) outside it: -1 at (0, 1)" in str(error))
    True
    """

    def __init__(self, input_dim, output_dim, ids_name="token_ids", **kwargs):
        kwargs.setdefault("name", "token_embedding")
        super().__init__(input_dim, output_dim, **kwargs)
        self.ids_name = ids_name

    def call(self, inputs, reverse=False):
        if reverse:
            return super().call(inputs, reverse=True)
        if not hasattr(inputs, "dtype"):
            inputs = keras.ops.convert_to_tensor(inputs)
        label = f"{type(self).__name__} '{self.name}'"
        ids, valid = _ids.check_ids(
            inputs, self.input_dim, label, self.ids_name
        )
        vectors = super().call(ids)
        return _ids.mark_invalid(vectors, valid)

    def get_config(self):
        config = super().get_config()
        config["ids_name"] = self.ids_name
        return config
