"""Training curves as a PNG."""

import numpy as np

# Up to this many epochs every value gets a marker; longer runs are
# lines only (hundreds of markers would hide the curve).
MARKED_EPOCHS = 50


def _epoch_rows(history):
    """`history` in any accepted form as a list of per-epoch dicts."""
    if hasattr(history, "history"):
        history = history.history
    if isinstance(history, dict):
        if "loss" not in history:
            raise ValueError(
                "`history` must have a 'loss' entry (one value per epoch); "
                f"received the keys {sorted(history)}."
            )
        count = len(history["loss"])
        uneven = {k: len(v) for k, v in history.items() if len(v) != count}
        if uneven:
            # Keras's History keeps no epoch numbers: with a
            # `validation_freq` above 1 the epochs of "val_*" are unknown.
            raise ValueError(
                f"Every entry of `history` must have one value per epoch "
                f"({count}, as 'loss' has); received {uneven}. Pass a list "
                "of per-epoch dicts with an 'epoch' key instead."
            )
        history = [
            {"epoch": i + 1, **{k: v[i] for k, v in history.items()}}
            for i in range(count)
        ]
    history = list(history)
    if not history:
        raise ValueError(
            "`history` must hold at least one epoch to plot; received none."
        )
    if "loss" not in history[0]:
        raise ValueError(
            "Each epoch of `history` must have a 'loss'; the first has the "
            f"keys {sorted(history[0])}."
        )
    return [
        dict(row, epoch=row.get("epoch", i + 1))
        for i, row in enumerate(history)
    ]


def plot_history(history, path, title=None):
    """Loss and the first metric per epoch, training and validation.

    Readable at any length: every value has a marker (up to
    `MARKED_EPOCHS` epochs), the epoch axis has whole-number ticks and
    half an epoch of room on each side, and a one-epoch run also writes
    each value beside its point.

    Args:
        history: `TrainingResult.history` (a list of per-epoch dicts) or
            a Keras `History` / its `.history` dict.
        path: where to write the PNG.
        title: optional figure title.

    Returns:
        The matplotlib Figure, saved and closed (`figure.axes` holds one
        Axes per panel, for a look at what was drawn).

    Raises:
        ValueError: `history` is empty or has no `loss`.

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "curves.png"
    >>> figure = plot_history([{"epoch": 1, "loss": 0.9, "val_loss": 1.0},
    ...                        {"epoch": 2, "loss": 0.5}], path)
    >>> path.stat().st_size > 0, [ax.get_ylabel() for ax in figure.axes]
    (True, ['loss'])
    """
    from matplotlib.ticker import MaxNLocator

    from keras_attn.viz._common import pyplot as _pyplot

    history = _epoch_rows(history)
    names = [k for k in history[0] if k not in ("epoch", "learning_rate")]
    metrics = [k for k in names if not k.startswith("val_")]
    metrics = ["loss"] + [k for k in metrics if k != "loss"][:1]
    epochs_run = sorted({row["epoch"] for row in history})
    first, last = epochs_run[0], epochs_run[-1]
    marked = len(epochs_run) <= MARKED_EPOCHS
    single = len(epochs_run) == 1
    plt = _pyplot()
    figure, axes = plt.subplots(
        1, len(metrics), figsize=(5 * len(metrics), 3.8)
    )
    axes = np.atleast_1d(axes)
    series = ((0, "training", "o", "-"), (1, "held out", "s", "--"))
    for ax, metric in zip(axes, metrics, strict=True):
        for held_out, label, marker, style in series:
            key = f"val_{metric}" if held_out else metric
            points = [(r["epoch"], float(r[key])) for r in history if key in r]
            if not points:
                continue
            epochs, values = zip(*points, strict=True)
            ax.plot(
                epochs,
                values,
                linestyle=style,
                marker=marker if marked else None,
                markersize=6 if single else 4,
                label=label,
            )
            if single:
                for epoch, value in points:
                    ax.annotate(
                        f"{label} {value:.4f}",
                        (epoch, value),
                        xytext=(8, 4 - 12 * held_out),
                        textcoords="offset points",
                        fontsize=9,
                    )
        ax.set_xlim(first - 0.5, last + 0.5)
        if single:
            ax.set_xticks([first])
            ax.margins(y=0.25)  # room for the values written beside
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)
    return figure
