"""Training curves as a PNG."""

import numpy as np


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
    from keras_attn.viz._common import pyplot as _pyplot

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
