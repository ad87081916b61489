"""The three training jobs behind `keras-attn train`.

Each reads local data (`keras_attn.data`), trains with
`keras_attn.training.train` under the strategy and precision asked for,
evaluates on `eval` (or on a held-out tenth of the training rows) and
writes one folder:

- `model.keras` (the best epoch on the held-out data), and what the model
  needs beside it: `vocab.txt` (text classifier), the SentencePiece model
  and `translator.json` (translator), `classes.json` (ViT);
- `history.json` (one record per epoch), `metrics.json` (accuracy, or
  BLEU for the translator), `eval_predictions.tsv` (input, reference,
  prediction per evaluation example), `training_curves.png`, and
  TensorBoard logs in `logs/`.
"""

import json
import pathlib
import shutil

import keras
import numpy as np
import tensorflow as tf

from keras_attn import data
from keras_attn import distribute
from keras_attn import training

__all__ = ["train_text_classifier", "train_translator", "train_vit"]

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _say(message):
    print(f"[keras-attn train] {message}", flush=True)


def _split(count, fraction, seed):
    """Shuffled training and held-out indices (at least one of each)."""
    order = np.random.default_rng(seed).permutation(count)
    held = min(max(1, round(count * fraction)), count - 1)
    return order[held:], order[:held]


def _clean(text):
    return " ".join(str(text).split())


def _write_predictions(path, rows):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("input\treference\tprediction\n")
        for row in rows:
            handle.write("\t".join(_clean(value) for value in row) + "\n")


def _finish(result, output, metrics, title):
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
        _say(f"no training_curves.png: {error}")
    for name, value in metrics.items():
        _say(f"{name}: {value}")
    _say(f"wrote {output}")


def _check_sizes(count, what):
    if count < 2:
        raise ValueError(
            f"{what} needs at least 2 examples to train and evaluate; "
            f"received {count}."
        )


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
    **options,
):
    """Fine-tunes (or trains) a BERT text classifier on a TSV or CSV.

    Args:
        train: path of a `label<TAB>sentence` TSV (or CSV with those
            columns).
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
    >>> sorted(metrics)
    ['accuracy', 'best_epoch', 'eval_examples', 'train_examples']
    """
    from keras_attn import models

    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    texts, labels = data.read_text_classification(train)
    _check_sizes(len(texts), "A text classifier")
    if eval is None:
        keep, held = _split(len(texts), held_out, options.get("seed", 0))
        eval_texts = [texts[i] for i in held]
        eval_labels = labels[held]
        texts, labels = [texts[i] for i in keep], labels[keep]
        _say(f"held out {len(held)} of the training rows for evaluation")
    else:
        eval_texts, eval_labels = data.read_text_classification(eval)
    num_classes = max(2, int(max(labels.max(), eval_labels.max())) + 1)

    if pretrained is not None:
        folder = pathlib.Path(pretrained)
        for name in ("vocab.txt", "tokenizer_config.json"):
            if (folder / name).is_file():
                shutil.copyfile(folder / name, output / name)

        def build():
            return models.bert_text_classifier(
                models.load_bert(folder), num_classes, pooling=pooling
            )
    else:
        size = _word_piece_vocabulary(texts, vocabulary_size, output)
        _say(f"computed a WordPiece vocabulary of {size} pieces")

        def build():
            backbone = models.bert_backbone(
                preset,
                vocabulary_size=size,
                max_sequence_length=sequence_length,
            )
            return models.bert_text_classifier(
                backbone, num_classes, pooling=pooling
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
        _write_predictions(
            output / "eval_predictions.tsv",
            zip(eval_texts, eval_labels, predictions, strict=True),
        )
    metrics = {
        "accuracy": accuracy,
        "eval_examples": len(eval_texts),
        "train_examples": len(texts),
        "best_epoch": result.best_epoch,
    }
    _finish(result, output, metrics, "text classifier")
    return metrics


def train_translator(
    train,
    output,
    eval=None,
    preset="translator_tiny",
    vocabulary_size=2000,
    max_length=32,
    held_out=0.1,
    max_pairs=None,
    beam_size=1,
    **options,
):
    """Trains the Transformer translator on a TSV of sentence pairs.

    Args:
        train: path of a `source<TAB>target` TSV without header (the
            Tatoeba format).
        output: folder for the translator and reports.
        eval: optional TSV of the same format; without it, the pairs of
            `held_out` of the distinct source sentences are evaluated.
        preset: a key of `TRANSLATOR_PRESETS`.
        vocabulary_size: int. Pieces of the joint SentencePiece model.
        max_length: int. Tokens per sentence at most, each side.
        held_out: float. Fraction held out when `eval` is not given.
        max_pairs: optional int. Read at most this many training pairs.
        beam_size: int. Decoding of the evaluation (1: greedy).
        **options: passed to `training.train`.

    Returns:
        dict of the evaluation metrics (`bleu` with sacrebleu's default
        13a tokenisation).

    Example: `translator_tiny` on 60 made-up pairs, one epoch
    (tests/test_train_cli.py trains one that learns its task).

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> words = "one two three four five six".split()
    >>> pairs = [f"{words[i % 6]} {words[(i + 1) % 6]}\\t"
    ...          f"{words[(i + 1) % 6]} {words[i % 6]}" for i in range(60)]
    >>> _ = (folder / "pairs.tsv").write_text("\\n".join(pairs) + "\\n")
    >>> metrics = train_translator(
    ...     folder / "pairs.tsv", folder / "run", vocabulary_size=20,
    ...     max_length=8, epochs=1, batch_size=8, verbose=0)
    [keras-attn train] ...
    >>> 0.0 <= metrics["bleu"] <= 100.0
    True
    """
    import sacrebleu

    from keras_attn import models
    from keras_attn.models import translation

    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    pairs = data.read_parallel_text(train, max_pairs=max_pairs)
    _check_sizes(len(pairs), "A translator")
    if eval is None:
        # Split by source sentence: Tatoeba gives one English sentence
        # several translations, and none may be both trained on and scored.
        sources = sorted({source for source, _ in pairs})
        _, held = _split(len(sources), held_out, options.get("seed", 0))
        held_sources = {sources[i] for i in held}
        eval_pairs = [p for p in pairs if p[0] in held_sources]
        pairs = [p for p in pairs if p[0] not in held_sources]
        _say(
            f"held out {len(eval_pairs)} pairs ({len(held)} source "
            "sentences, none of them trained on) for evaluation"
        )
    else:
        eval_pairs = data.read_parallel_text(eval)
    # Seed before the tokenizer exists: TensorFlow's set_seed clears the
    # eager kernel cache, which holds the SentencePiece resource ("Resource
    # ... SentencepieceOp ... does not exist" in tf.data afterwards).
    keras.utils.set_random_seed(options.get("seed", 0))
    tokenizer = models.train_translation_tokenizer(
        [side for pair in pairs for side in pair],
        vocabulary_size=vocabulary_size,
    )

    def build():
        return models.transformer_translator(
            preset,
            vocabulary_size=tokenizer.vocabulary_size(),
            max_sequence_length=max_length,
        )

    # A Translator for its preprocessing; its model is replaced by the
    # one `train` builds under the strategy.
    translator = models.Translator(
        build(),
        tokenizer,
        max_source_length=max_length,
        max_target_length=max_length,
    )

    def preprocess(source, target):
        return translation._trim(*translator.preprocess(source, target))

    sources, targets = (list(side) for side in zip(*pairs, strict=True))
    validation = (
        tf.data.Dataset.from_tensor_slices(
            tuple(list(side) for side in zip(*eval_pairs, strict=True))
        )
        .batch(options.get("batch_size", 32))
        .map(preprocess)
    )
    result = training.train(
        build,
        (sources, targets),
        output_dir=output,
        validation_data=validation,
        map_batch=preprocess,
        metrics=(),
        monitor="val_loss",
        seed_keras=False,  # seeded above
        **options,
    )
    translator.model = result.model
    eval_sources = [source for source, _ in eval_pairs]
    references = [target for _, target in eval_pairs]
    hypotheses = translator.translate(eval_sources, beam_size=beam_size)
    metric = sacrebleu.metrics.BLEU()
    bleu = metric.corpus_score(hypotheses, [references])
    if distribute.is_chief(result.strategy):
        translator.save(output)
        _write_predictions(
            output / "eval_predictions.tsv",
            zip(eval_sources, references, hypotheses, strict=True),
        )
    metrics = {
        "bleu": round(float(bleu.score), 2),
        "bleu_signature": str(metric.get_signature()),
        "eval_pairs": len(eval_pairs),
        "train_pairs": len(pairs),
        "beam_size": beam_size,
        "best_epoch": result.best_epoch,
    }
    _finish(result, output, metrics, "translator")
    return metrics


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
    overrides = {}
    if dataset == "digits":
        preset = preset or "vit_digits"
        x_train, x_test, y_train, y_test = data.load_digits(
            seed=options.get("seed", 0)
        )
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
            seed=options.get("seed", 0),
        )
        references = [f"held-out image {i}" for i in range(len(x_test))]
        overrides = {"image_size": size, "channels": x_train.shape[-1]}
    _check_sizes(len(x_train), "A ViT")
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
        (output / "classes.json").write_text(
            json.dumps(names) + "\n", encoding="utf-8"
        )
        _write_predictions(
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
    _finish(result, output, metrics, f"{preset} on {dataset}")
    return metrics
