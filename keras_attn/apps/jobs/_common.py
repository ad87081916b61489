"""What the training jobs share: messages, splits, the files they write."""

import json

import numpy as np

from keras_attn import training
from keras_attn.training import distribute


def say(message):
    print(f"[keras-attn train] {message}", flush=True)


def split(count, fraction, seed):
    """Shuffled training and held-out indices (at least one of each)."""
    order = np.random.default_rng(seed).permutation(count)
    held = min(max(1, round(count * fraction)), count - 1)
    return order[held:], order[:held]


def clean(text):
    return " ".join(str(text).split())


def write_predictions(path, rows):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("input\treference\tprediction\n")
        for row in rows:
            handle.write("\t".join(clean(value) for value in row) + "\n")


def write_classes(output, names):
    """`classes.json`: the class names, index = the model's output."""
    (output / "classes.json").write_text(
        json.dumps(list(names)) + "\n", encoding="utf-8"
    )


def finish(result, output, metrics, title):
    """Writes model.keras, metrics.json and the curves of a chief."""
    if not distribute.is_chief(result.strategy):
        return
    with open(output / "metrics.json", "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=1)
        handle.write("\n")
    try:
        training.plot_history(
            result.history, output / "training_curves.png", title
        )
    except ImportError as error:
        say(f"no training_curves.png: {error}")
    for name, value in metrics.items():
        say(f"{name}: {value}")
    say(f"wrote {output}")


def check_sizes(count, what):
    if count < 2:
        raise ValueError(
            f"{what} needs at least 2 examples to train and evaluate; "
            f"received {count}."
        )


def row_shares(matrix):
    """Each row of a confusion matrix divided by its total (a row of no
    examples stays 0), float64."""
    matrix = np.asarray(matrix, "float64")
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(
        matrix, totals, out=np.zeros_like(matrix), where=totals > 0
    )


def draw_confusion(
    shares,
    names,
    path,
    title,
    what=("true class", "predicted class"),
    cell=0.45,
    font_size=8,
):
    """Saves `shares` (rows true, columns predicted: `row_shares`) as a
    PNG: `names` on both axes (`what` names the rows and the columns), the
    share in each cell when there are at most 20, `cell` inches a name.

    Returns:
        The saved, closed figure, whose image holds `shares`.
    """
    import matplotlib.pyplot as plt

    side = max(4.0, cell * len(names) + 2.0)
    figure, ax = plt.subplots(figsize=(side + 1.0, side))
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel(what[1])
    ax.set_ylabel(what[0])
    if len(names) <= 20:
        for row in range(len(names)):
            for column in range(len(names)):
                value = shares[row, column]
                if value > 0:
                    ax.text(
                        column,
                        row,
                        f"{value:.2f}",
                        ha="center",
                        va="center",
                        fontsize=font_size,
                        color="white" if value > 0.5 else "black",
                    )
    row = what[0].split()[0]
    figure.colorbar(image, ax=ax, fraction=0.046, label=f"share of {row} row")
    if title:
        ax.set_title(title)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)
    return figure
