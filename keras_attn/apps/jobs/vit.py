"""The `keras-attn train vit` job: a Vision Transformer from scratch."""

import pathlib

import numpy as np

from keras_attn import data
from keras_attn import training
from keras_attn.apps.jobs._common import check_sizes
from keras_attn.apps.jobs._common import finish
from keras_attn.apps.jobs._common import write_classes
from keras_attn.apps.jobs._common import write_predictions
from keras_attn.models.tasks import write_task_file
from keras_attn.training import distribute


def train_vit(
    dataset,
    output,
    preset=None,
    image_size=None,
    held_out=0.2,
    data_dir=None,
    download=False,
    **options,
):
    """Trains a Vision Transformer classifier from scratch.

    Args:
        dataset: `"digits"` (scikit-learn's bundled 8x8 digits),
            `"cifar10"` (TensorFlow Datasets: needs the prepared data in
            `data_dir`, or `download=True`), or a folder with one
            subfolder of images per class.
        output: folder for the model and reports.
        preset: a key of `VIT_PRESETS`; defaults to `vit_digits` for the
            digits and `vit_cifar` otherwise.
        image_size: int. For a folder, the size images are resized to
            (defaults to the preset's); the patch size must divide it.
        held_out: float. Fraction of a folder held out for evaluation
            (digits and CIFAR-10 have their own test splits).
        data_dir, download: for TensorFlow Datasets.
        **options: passed to `training.train`.

    Returns:
        dict of the evaluation metrics.

    Example: one epoch on the digits (at the default 40 epochs the
    held-out accuracy is about 0.98; tests/test_train_cli.py trains it).

    >>> import tempfile
    >>> metrics = train_vit("digits", tempfile.mkdtemp(), epochs=1,
    ...                     batch_size=32, verbose=0)
    [keras-attn train] accuracy: ...
    >>> 0.0 <= metrics["accuracy"] <= 1.0
    True
    """
    from keras_attn import models

    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    images = _vit_images(
        dataset,
        preset,
        image_size,
        held_out,
        options.get("seed", 0),
        data_dir,
        download,
    )
    preset, overrides, names, references = (
        images["preset"],
        images["overrides"],
        images["names"],
        images["references"],
    )
    x_train, x_test = images["x_train"], images["x_test"]
    y_train, y_test = images["y_train"], images["y_test"]
    check_sizes(len(x_train), "A ViT")
    num_classes = len(names)

    def build():
        return models.vit_classifier(num_classes, preset, **overrides)

    options.setdefault("weight_decay", 0.05)
    options.setdefault("learning_rate", 2e-3)
    result = training.train(
        build,
        (x_train, y_train.astype("int32")),
        output_dir=output,
        validation_data=(x_test, y_test.astype("int32")),
        **options,
    )
    logits = result.model.predict(x_test, verbose=0)
    predictions = np.argmax(logits, axis=-1)
    accuracy = float(np.mean(predictions == y_test))
    if distribute.is_chief(result.strategy):
        result.model.save(output / "model.keras")
        write_classes(output, names)
        # The images were read as pixels / 255 (keras_attn.data).
        write_task_file(
            output,
            "image_classifier",
            image_size=list(result.model.input_shape[1:3]),
            scale=1 / 255,
        )
        write_predictions(
            output / "eval_predictions.tsv",
            (
                (ref, names[int(y)], names[int(p)])
                for ref, y, p in zip(
                    references, y_test, predictions, strict=True
                )
            ),
        )
    metrics = {
        "accuracy": accuracy,
        "eval_examples": len(x_test),
        "train_examples": len(x_train),
        "best_epoch": result.best_epoch,
    }
    finish(result, output, metrics, f"{preset} on {dataset}")
    return metrics


def _vit_images(
    dataset, preset, image_size, held_out, seed, data_dir, download
):
    """The ViT job's data, by the name (or folder) of `--dataset`.

    Returns a dict: `x_train`, `x_test`, `y_train`, `y_test`, the class
    `names`, one `references` label per test image (for the predictions
    file), the `preset` (defaulted) and model `overrides` (a folder's
    image size and channels).
    """
    from keras_attn import models

    overrides = {}
    if dataset == "digits":
        preset = preset or "vit_digits"
        x_train, x_test, y_train, y_test = data.load_digits(seed=seed)
        names = [str(i) for i in range(10)]
        references = [f"digits test image {i}" for i in range(len(x_test))]
    elif dataset == "cifar10":
        preset = preset or "vit_cifar"
        x_train, y_train = data.load_tfds_images(
            "cifar10", "train", data_dir=data_dir, download=download
        )
        x_test, y_test = data.load_tfds_images(
            "cifar10", "test", data_dir=data_dir, download=download
        )
        names = "airplane automobile bird cat deer dog frog horse ship truck"
        names = names.split()
        references = [f"cifar10 test image {i}" for i in range(len(x_test))]
    else:
        folder = pathlib.Path(dataset)
        if not folder.is_dir():
            raise ValueError(
                "--dataset must be 'digits', 'cifar10' or a folder of "
                f"class subfolders; received {dataset!r}."
            )
        preset = preset or "vit_cifar"
        size = image_size or models.vit_config(preset)["image_size"]
        x_train, x_test, y_train, y_test, names = data.image_folder(
            folder,
            (size, size),
            validation_fraction=held_out,
            seed=seed,
        )
        references = [f"held-out image {i}" for i in range(len(x_test))]
        overrides = {"image_size": size, "channels": x_train.shape[-1]}
    return {
        "x_train": x_train,
        "x_test": x_test,
        "y_train": y_train,
        "y_test": y_test,
        "names": names,
        "references": references,
        "preset": preset,
        "overrides": overrides,
    }
