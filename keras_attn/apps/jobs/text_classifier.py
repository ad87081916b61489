"""The `keras-attn train text-classifier` job: BERT on a TSV or CSV."""

import pathlib
import shutil

import numpy as np
import tensorflow as tf

from keras_attn import data
from keras_attn import training
from keras_attn.apps.jobs._common import check_sizes
from keras_attn.apps.jobs._common import finish
from keras_attn.apps.jobs._common import say
from keras_attn.apps.jobs._common import split
from keras_attn.apps.jobs._common import write_classes
from keras_attn.apps.jobs._common import write_predictions
from keras_attn.models.tasks import write_task_file
from keras_attn.training import distribute

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _word_piece_vocabulary(texts, size, output):
    import keras_hub

    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(texts).batch(1000),
        vocabulary_size=size,
        lowercase=True,
        strip_accents=True,
        reserved_tokens=SPECIAL_TOKENS,
    )
    (output / "vocab.txt").write_text(
        "\n".join(vocabulary) + "\n", encoding="utf-8"
    )
    return len(vocabulary)


def train_text_classifier(
    train,
    output,
    eval=None,
    pretrained=None,
    preset="bert_tiny",
    vocabulary_size=8000,
    sequence_length=128,
    pooling="pooled",
    held_out=0.1,
    text_column=None,
    label_column="label",
    **options,
):
    """Fine-tunes (or trains) a BERT text classifier on a TSV or CSV.

    The classes are the training file's labels: class ids (integers >= 0)
    or class names such as `pos` and `neg`, numbered in sorted order
    (`keras_attn.data.read_labelled_texts`). `classes.json` in `output`
    lists the names, index = the model's output; the predictions file
    and `metrics.json` use the names.

    Args:
        train: path of a TSV or CSV with a header, such as SST-2's
            `label<TAB>sentence`.
        output: folder for the model, tokenizer and reports.
        eval: optional path of the same format; without it, `held_out`
            of the training rows (chosen with the seed) are evaluated.
        pretrained: optional local Hugging Face BERT folder
            (`config.json`, `model.safetensors`, `vocab.txt`); without it
            a `preset` BERT is trained from scratch on a WordPiece
            vocabulary computed from the training text.
        preset, vocabulary_size: for training from scratch.
        sequence_length: int. Tokens per example at most.
        pooling: `"pooled"` or `"mean"`, see `bert_text_classifier`.
        held_out: float. Fraction held out when `eval` is not given.
        text_column: str or None. The text column's header name; None
            takes `sentence`, or else the one of `text`, `content` and
            `review` that the header has.
        label_column: str. The label column's header name.
        **options: passed to `training.train` (`epochs`, `batch_size`,
            `learning_rate`, `strategy`, `precision`, ...).

    Returns:
        dict of the evaluation metrics.

    Example: a `bert_tiny` from scratch on 40 made-up rows, one epoch
    (tests/test_train_cli.py trains one to a real accuracy).

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = ["label\\tsentence"] + [
    ...     f"{i % 2}\\t{'a good film' if i % 2 else 'a bad film'} {i}"
    ...     for i in range(40)]
    >>> _ = (folder / "train.tsv").write_text("\\n".join(rows) + "\\n")
    >>> metrics = train_text_classifier(
    ...     folder / "train.tsv", folder / "run", vocabulary_size=200,
    ...     sequence_length=16, epochs=1, batch_size=8, verbose=0)
    [keras-attn train] ...
    >>> sorted(metrics)  # doctest: +NORMALIZE_WHITESPACE
    ['accuracy', 'best_epoch', 'classes', 'eval_examples',
     'per_class_accuracy', 'train_examples']
    """
    from keras_attn import models

    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    texts, labels, classes = data.read_labelled_texts(
        train, text_column, label_column
    )
    check_sizes(len(texts), "A text classifier")
    if len(classes) < 2:
        raise ValueError(
            f"{train}: a classifier needs at least 2 classes; every label "
            f"is {classes[0]!r}."
        )
    texts, labels, eval_texts, eval_labels = _held_out_texts(
        texts,
        labels,
        eval,
        held_out,
        options.get("seed", 0),
        (text_column, label_column, classes),
    )
    num_classes = len(classes)
    build = _text_classifier_builder(
        output,
        texts,
        num_classes,
        pretrained=pretrained,
        preset=preset,
        vocabulary_size=vocabulary_size,
        sequence_length=sequence_length,
        pooling=pooling,
    )
    preprocessor = models.load_bert_preprocessor(output, sequence_length)

    def tokenize(batch_texts, batch_labels):
        return data.trim_to_longest(preprocessor(batch_texts)), batch_labels

    validation = (
        tf.data.Dataset.from_tensor_slices((eval_texts, eval_labels))
        .batch(options.get("batch_size", 32))
        .map(tokenize)
    )
    result = training.train(
        build,
        (texts, labels),
        output_dir=output,
        validation_data=validation,
        map_batch=tokenize,
        **options,
    )
    logits = result.model.predict(validation.map(lambda x, y: x), verbose=0)
    predictions = np.argmax(logits, axis=-1)
    accuracy = float(np.mean(predictions == eval_labels))
    if distribute.is_chief(result.strategy):
        result.model.save(output / "model.keras")
        write_classes(output, classes)
        write_task_file(
            output, "text_classifier", sequence_length=sequence_length
        )
        write_predictions(
            output / "eval_predictions.tsv",
            (
                (text, classes[label], classes[predicted])
                for text, label, predicted in zip(
                    eval_texts, eval_labels, predictions, strict=True
                )
            ),
        )
    metrics = {
        "accuracy": accuracy,
        "per_class_accuracy": {
            # Of the evaluation rows of each class, the share predicted
            # right (classes without evaluation rows are left out).
            name: float(np.mean(predictions[eval_labels == index] == index))
            for index, name in enumerate(classes)
            if np.any(eval_labels == index)
        },
        "classes": classes,
        "eval_examples": len(eval_texts),
        "train_examples": len(texts),
        "best_epoch": result.best_epoch,
    }
    finish(result, output, metrics, "text classifier")
    return metrics


def _held_out_texts(texts, labels, eval, held_out, seed, columns):
    """`(texts, labels, eval_texts, eval_labels)`: the `eval` file's rows
    (read with `columns`: the text and label columns and the training
    file's classes), or `held_out` of the training rows chosen with
    `seed`."""
    if eval is not None:
        eval_texts, eval_labels, _ = data.read_labelled_texts(eval, *columns)
        return texts, labels, eval_texts, eval_labels
    keep, held = split(len(texts), held_out, seed)
    eval_texts = [texts[i] for i in held]
    eval_labels = labels[held]
    texts, labels = [texts[i] for i in keep], labels[keep]
    say(f"held out {len(held)} of the training rows for evaluation")
    return texts, labels, eval_texts, eval_labels


def _text_classifier_builder(
    output,
    texts,
    num_classes,
    pretrained,
    preset,
    vocabulary_size,
    sequence_length,
    pooling,
):
    """The job's `build_model`, with its vocabulary written to `output`:
    the pretrained folder's (copied), or a WordPiece vocabulary computed
    from `texts` for a `preset` BERT trained from scratch."""
    from keras_attn import models

    if pretrained is not None:
        folder = pathlib.Path(pretrained)
        for name in ("vocab.txt", "tokenizer_config.json"):
            if (folder / name).is_file():
                shutil.copyfile(folder / name, output / name)

        def build():
            return models.bert_text_classifier(
                models.load_bert(folder), num_classes, pooling=pooling
            )

        return build
    size = _word_piece_vocabulary(texts, vocabulary_size, output)
    say(f"computed a WordPiece vocabulary of {size} pieces")

    def build():
        backbone = models.bert_backbone(
            preset,
            vocabulary_size=size,
            max_sequence_length=sequence_length,
        )
        return models.bert_text_classifier(
            backbone, num_classes, pooling=pooling
        )

    return build
