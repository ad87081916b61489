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
