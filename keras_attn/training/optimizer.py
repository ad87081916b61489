"""The fine-tuning optimizer: AdamW, warm-up then cosine decay, clipping."""

import keras

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
