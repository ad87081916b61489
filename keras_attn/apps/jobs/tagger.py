"""The `keras-attn train token-classifier` job: a BERT part-of-speech
tagger on CoNLL-U or Brown corpus files. Long because it holds the whole
road of one job (corpora and their split, rows, per-tag scores, the
confusion-matrix picture), as its three siblings each do.

The corpora are read with `keras_attn.data.read_tagged` (each file's
format from its name or first line unless `format` names one; tags as
written or mapped to the 12 universal tags). The network is
`bert_token_classifier`, trained with `training.train` on each word's
first piece (words past `sequence_length` pieces are cut from training,
and counted); the evaluation runs the run folder's own `TokenClassifier`
(`load_task` gives the same one), which takes every word, long sentences
in windows.
"""

import dataclasses
import json
import pathlib
import shutil
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_attn import data
from keras_attn import training
from keras_attn.apps.jobs._common import clean
from keras_attn.apps.jobs._common import draw_confusion
from keras_attn.apps.jobs._common import row_shares
from keras_attn.apps.jobs._common import say
from keras_attn.apps.jobs._common import split
from keras_attn.apps.jobs._common import write_classes
from keras_attn.apps.jobs.text_classifier import _word_piece_vocabulary
from keras_attn.data import tagged_text
from keras_attn.data import tagsets
from keras_attn.models.tagger import words as word_rows
from keras_attn.models.tasks import write_task_file
from keras_attn.training import distribute

# A confusion matrix of more tags than this draws the most frequent.
MAX_DRAWN_TAGS = 40
# Evaluation sentences predicted at a time (bounds the logits held).
_EVAL_CHUNK = 1024
# Keras's warning when only the pooler's weights get no gradients.
_POOLER_ONLY = (
    r"Gradients do not exist for variables "
    r"\['pooler/[^']*'(, 'pooler/[^']*')*\] "
)


@dataclasses.dataclass
class TaggedCorpora:
    """The training and evaluation sentences of a run, and their tags.

    Attributes:
        train: list of `TaggedSentence`, trained on.
        eval: list of `TaggedSentence`, evaluated on.
        tags: list of str, the tag set (index = the model's output): the
            12 universal tags in `UNIVERSAL_TAGS` order, or the sorted
            tags of the whole `train` path.
        evaluated_on: str, where `eval` came from (said in the output and
            written to `metrics.json`).
        eval_files: list of str, the files `eval` was read from.
    """

    train: list
    eval: list
    tags: list
    evaluated_on: str
    eval_files: list


def unknown_tags_error(found, known, what):
    """The message for evaluation tags the tag set lacks: each tag with
    the first file and line it is on, and the known tags.

    Args:
        found: dict `{tag: "file:line"}` of the unknown tags.
        known: list of the tag set's tags.
        what: the evaluation data's path.
    """
    listed = ", ".join(f"{tag!r} ({where})" for tag, where in found.items())
    shown = ", ".join(known[:40]) + (
        f", ... ({len(known) - 40} more)" if len(known) > 40 else ""
    )
    return (
        f"{what} has tags the training data lacks: {listed}; the model "
        f"knows the {len(known)} tags of the training data: {shown}. "
        "Map both to the 12 universal tags (tagset universal) to score "
        "across tag sets."
    )


def find_unknown_tags(sentences, known):
    """`{tag: "file:line"}` of the tags of `sentences` not in `known`."""
    known = set(known)
    found = {}
    for sentence in sentences:
        for tag in sentence.tags:
            if tag not in known and tag not in found:
                found[tag] = f"{sentence.file}:{sentence.line}"
    return found


def _described(path, sentences, format):
    files = sorted({sentence.file for sentence in sentences})
    formats = sorted(
        {format or tagged_text.tagged_format(file) for file in files[:50]}
    )
    words = sum(len(sentence.words) for sentence in sentences)
    where = "1 file" if len(files) == 1 else f"{len(files)} files"
    return (
        f"{path} ({'/'.join(formats)}, {where}): {len(sentences)} sentences, "
        f"{words} words"
    )


def tagged_corpora(
    train,
    eval=None,
    format=None,
    tagset="raw",
    held_out=0.1,
    seed=0,
    max_sentences=None,
):
    """Reads the training and evaluation sentences of a tagger's run.

    Without `eval`, a `train` folder of two or more files gives whole
    files for evaluation (`held_out` of them, at least one, chosen with
    `seed`), so no sentence of a file trained on is scored; a single
    file gives `held_out` of its sentences.

    Args:
        train: a CoNLL-U or Brown file, or a folder of them.
        eval: None, or a file or folder in either format.
        format: None (each file's own), `"conllu"` or `"brown"`, for
            every file read.
        tagset: `"raw"` or `"universal"` (`read_tagged`).
        held_out: float in (0, 1). The share held out without `eval`.
        seed: int. Chooses the held-out files or sentences.
        max_sentences: None or int. Train on the first this many training
            sentences (the evaluation data stay whole).

    Returns:
        `TaggedCorpora`.

    Raises:
        FileNotFoundError, ValueError: as `read_tagged` (file and line);
            evaluation tags the tag set lacks (`unknown_tags_error`);
            too little data to train and evaluate.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("ca01", "ca02", "ca03"):
    ...     _ = (folder / name).write_text("The/at cat/nn sat/vbd ./.\\n")
    >>> corpora = tagged_corpora(folder, held_out=0.3)
    [keras-attn train] ...
    >>> corpora.tags, len(corpora.train), len(corpora.eval)
    (['.', 'at', 'nn', 'vbd'], 2, 1)
    >>> corpora.evaluated_on
    'held out 1 of the 3 files of ...: ca...'
    """
    sentences = tagged_text.read_tagged(train, format, tagset)
    say(f"read --train {_described(train, sentences, format)}")
    if tagset == "universal":
        tags = list(tagsets.UNIVERSAL_TAGS)
    else:
        tags = sorted({tag for s in sentences for tag in s.tags})
    if eval is not None:
        eval_sentences = tagged_text.read_tagged(eval, format, tagset)
        found = find_unknown_tags(eval_sentences, tags)
        if found:
            raise ValueError(unknown_tags_error(found, tags, eval))
        evaluated_on = f"--eval {_described(eval, eval_sentences, format)}"
    else:
        sentences, eval_sentences, evaluated_on = _held_out(
            train, sentences, held_out, seed
        )
    if max_sentences is not None and max_sentences < len(sentences):
        say(
            f"training on the first {max_sentences} of {len(sentences)} "
            "training sentences (--max-sentences)"
        )
        sentences = sentences[:max_sentences]
    if len(tags) < 2:
        raise ValueError(
            f"{train}: a tagger needs at least 2 tags; every word is "
            f"tagged {tags[0]!r}."
        )
    files = sorted({sentence.file for sentence in eval_sentences})
    return TaggedCorpora(sentences, eval_sentences, tags, evaluated_on, files)


def _held_out(train, sentences, held_out, seed):
    """`(training, evaluation, description)` without `--eval`: whole
    files of a folder of several, else a share of the sentences."""
    files = sorted({sentence.file for sentence in sentences})
    if len(files) >= 2:
        keep, held = split(len(files), held_out, seed)
        chosen = {files[i] for i in held}
        names = sorted(pathlib.Path(files[i]).name for i in held)
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        evaluation = [s for s in sentences if s.file in chosen]
        training_part = [s for s in sentences if s.file not in chosen]
        description = (
            f"held out {len(held)} of the {len(files)} files of {train}: "
            f"{shown} ({len(evaluation)} sentence(s); whole files, so no "
            "sentence of a file trained on is scored)"
        )
    else:
        if len(sentences) < 2:
            raise ValueError(
                f"{train} holds {len(sentences)} sentence; a tagger needs "
                "at least 2 to train and evaluate (or give --eval)."
            )
        keep, held = split(len(sentences), held_out, seed)
        evaluation = [sentences[i] for i in sorted(held)]
        training_part = [sentences[i] for i in sorted(keep)]
        description = (
            f"held out {len(held)} of the {len(sentences)} sentences of "
            f"{train} (one file: a share of its sentences, chosen with "
            "the seed)"
        )
    say(description)
    return training_part, evaluation, description


# -- Rows for the network --------------------------------------------------


def _rows(preprocessor, sentences, tag_index):
    """`(inputs, labels, cut_words)`: the network's int32 inputs, labels
    `(N, T - 2)` (-1 where there is no word: padding and cut words) and
    the count of words cut because their sentence is too long."""
    tokenizer = preprocessor.tokenizer
    pieces = word_rows.word_pieces(
        tokenizer, [list(sentence.words) for sentence in sentences]
    )
    special = (
        tokenizer.cls_token_id,
        tokenizer.sep_token_id,
        tokenizer.pad_token_id,
    )
    encoded = word_rows.encode(pieces, preprocessor.sequence_length, special)
    labels = np.full(encoded.word_mask.shape, -1, "int32")
    for row, (kept, sentence) in enumerate(
        zip(encoded.words, sentences, strict=True)
    ):
        labels[row, :kept] = [tag_index[tag] for tag in sentence.tags[:kept]]
    return encoded.inputs, labels, encoded.cut_words


def _trim(inputs, labels):
    """A batch cut to its longest row (`data.trim_to_longest`); the
    labels to the words that row can hold."""
    inputs = data.trim_to_longest(inputs)
    return inputs, labels[:, : tf.shape(inputs["word_starts"])[1]]


@keras.saving.register_keras_serializable(package="keras_attn")
class WordAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy over the words whose label is not -1 (padding and cut
    words are -1): training's `metrics` get no sample weights."""

    def __init__(self, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(y_true, "int32")
        real = keras.ops.greater_equal(y_true, 0)
        weight = keras.ops.cast(real, "float32")
        if sample_weight is not None:
            weight = weight * keras.ops.cast(sample_weight, "float32")
        return super().update_state(
            keras.ops.where(real, y_true, 0), y_pred, sample_weight=weight
        )


def _builder(output, sentences, num_tags, options):
    """The job's `build_model`, with its vocabulary written to `output`
    (the pretrained folder's, or WordPiece computed from the words)."""
    from keras_attn import models

    pretrained = options["pretrained"]
    if pretrained is not None:
        folder = pathlib.Path(pretrained)
        for name in ("vocab.txt", "tokenizer_config.json"):
            if (folder / name).is_file():
                shutil.copyfile(folder / name, output / name)

        def build():
            return models.bert_token_classifier(
                models.load_bert(folder), num_tags
            )

        return build
    texts = [" ".join(sentence.words) for sentence in sentences]
    size = _word_piece_vocabulary(texts, options["vocabulary_size"], output)
    say(f"computed a WordPiece vocabulary of {size} pieces")

    def build():
        backbone = models.bert_backbone(
            options["preset"],
            vocabulary_size=size,
            max_sequence_length=options["sequence_length"],
        )
        return models.bert_token_classifier(backbone, num_tags)

    return build


# -- Scores ----------------------------------------------------------------


def _predict(task, sentences, batch_size):
    """`(predicted, gold_probability)`: per sentence, the predicted tag
    ids and the probability of each gold tag (every word, windows for
    long sentences: `TokenClassifier.word_probabilities`)."""
    index = {name: i for i, name in enumerate(task.class_names)}
    predicted, chosen = [], []
    for start in range(0, len(sentences), _EVAL_CHUNK):
        chunk = sentences[start : start + _EVAL_CHUNK]
        found = task.word_probabilities(
            [list(sentence.words) for sentence in chunk],
            batch_size=batch_size,
        )
        for sentence, probabilities in zip(chunk, found, strict=True):
            gold = [index[tag] for tag in sentence.tags]
            predicted.append(probabilities.argmax(axis=-1))
            chosen.append(probabilities[np.arange(len(gold)), gold])
    return predicted, chosen


def tag_scores(gold, predicted, tags):
    """Per-word accuracy and per-tag precision, recall and F1.

    Args:
        gold, predicted: int arrays of tag ids, one per word.
        tags: list of the tag names (index = id).

    Returns:
        dict: `accuracy`, `per_tag` (`{tag: {precision, recall, f1,
        support}}` for each tag in the gold or the predicted tags; 0.0
        where a ratio has nothing to divide, as scikit-learn's
        `zero_division=0`) and their macro averages `macro_precision`,
        `macro_recall`, `macro_f1`.

    Example:

    >>> scores = tag_scores([0, 0, 1, 2], [0, 1, 1, 1], ["A", "B", "C"])
    >>> scores["accuracy"], scores["per_tag"]["B"]["precision"]
    (0.5, 0.3333333333333333)
    >>> round(scores["macro_f1"], 4)  # (2/3 + 1/2 + 0) / 3
    0.3889
    """
    gold = np.asarray(gold, "int64")
    predicted = np.asarray(predicted, "int64")
    per_tag = {}
    for index in sorted(set(gold.tolist()) | set(predicted.tolist())):
        hits = int(np.sum((gold == index) & (predicted == index)))
        support = int(np.sum(gold == index))
        guessed = int(np.sum(predicted == index))
        precision = hits / guessed if guessed else 0.0
        recall = hits / support if support else 0.0
        both = precision + recall
        per_tag[tags[index]] = {
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / both if both else 0.0,
            "support": support,
        }
    rows = list(per_tag.values())
    return {
        "accuracy": float(np.mean(gold == predicted)),
        "per_tag": per_tag,
        "macro_precision": float(np.mean([r["precision"] for r in rows])),
        "macro_recall": float(np.mean([r["recall"] for r in rows])),
        "macro_f1": float(np.mean([r["f1"] for r in rows])),
    }


def confusion_counts(gold, predicted, count):
    """`(count, count)` int64 counts: row = gold tag, column = predicted."""
    matrix = np.zeros((count, count), "int64")
    np.add.at(matrix, (np.asarray(gold), np.asarray(predicted)), 1)
    return matrix


def plot_confusion(matrix, tags, path, title=None):
    """The confusion matrix as a PNG: rows gold, columns predicted, each
    row divided by its words (a row without words stays 0), tag names on
    both axes and the row's share in each cell (up to 20 tags). Of more
    than `MAX_DRAWN_TAGS` tags, the most frequent gold tags are drawn
    (the title says how many of how many).

    Returns:
        `(figure, drawn)`: the saved, closed figure, whose image holds
        the drawn shares, and the names of the drawn tags.
    """
    matrix = np.asarray(matrix, "float64")
    totals = matrix.sum(axis=1)
    shares = row_shares(matrix)
    order = np.arange(len(tags))
    if len(tags) > MAX_DRAWN_TAGS:
        order = np.sort(np.argsort(-totals, kind="stable")[:MAX_DRAWN_TAGS])
        note = f"the {MAX_DRAWN_TAGS} most frequent of {len(tags)} tags"
        title = f"{title} ({note})" if title else note
    shares = shares[np.ix_(order, order)]
    drawn = [tags[i] for i in order]
    figure = draw_confusion(
        shares,
        drawn,
        path,
        title,
        what=("gold tag", "predicted tag"),
        cell=0.35,
        font_size=7,
    )
    return figure, drawn


def _write_predictions(path, sentences, predicted, tags):
    """`word<TAB>gold<TAB>predicted` per word, a blank line after each
    sentence."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("word\tgold\tpredicted\n")
        for sentence, ids in zip(sentences, predicted, strict=True):
            for word, gold, guess in zip(
                sentence.words, sentence.tags, ids, strict=True
            ):
                handle.write(f"{clean(word)}\t{gold}\t{tags[guess]}\n")
            handle.write("\n")


# -- The job ---------------------------------------------------------------


def train_token_classifier(
    train,
    output,
    eval=None,
    format=None,
    tagset="raw",
    pretrained=None,
    preset="bert_tiny",
    vocabulary_size=8000,
    sequence_length=128,
    held_out=0.1,
    max_sentences=None,
    **options,
):
    """Fine-tunes (or trains) a BERT part-of-speech tagger.

    Writes to `output`: `model.keras` (the `bert_token_classifier`
    network), `vocab.txt` (and the pretrained folder's
    `tokenizer_config.json`), `classes.json` (the tags, index = the
    model's output), `task.json` (so `models.load_task(output)` is a
    `TokenClassifier` that tags lists of words), `metrics.json`,
    `eval_predictions.tsv` (`word<TAB>gold<TAB>predicted` per word of the
    evaluation data in order, a blank line after each sentence),
    `confusion_matrix.png`, `history.json`, `training_curves.png` and
    TensorBoard logs in `logs/`.

    Args:
        train: a CoNLL-U or Brown file, or a folder of them
            (`data.read_tagged`).
        output: folder for the model, tokenizer and reports.
        eval: optional file or folder, in either format; without it,
            whole files of a folder of several, or `held_out` of a single
            file's sentences (`tagged_corpora`).
        format: None (each file's format from its name or first line),
            `"conllu"` or `"brown"`.
        tagset: `"raw"` (the tags as written; the tag set is the training
            data's) or `"universal"` (the 12 universal tags, so that
            Brown and CoNLL-U data score each other).
        pretrained: optional local Hugging Face BERT folder; without it a
            `preset` BERT is trained from scratch on a WordPiece
            vocabulary of the training words.
        preset, vocabulary_size: for training from scratch.
        sequence_length: int. Pieces per row; longer sentences lose
            their last words in training (counted and said) and are
            evaluated in windows.
        held_out: float. The share held out without `eval`.
        max_sentences: None or int. Train on at most this many sentences.
        **options: passed to `training.train` (`epochs`, `batch_size`,
            `learning_rate`, `strategy`, `precision`, `seed`, ...).

    Returns:
        dict of the evaluation metrics (`metrics.json`).

    Example: evaluation tags the training data lack stop the job before
    it trains (tests/test_train_tagger.py trains one on hand-tagged Brown
    files, scores it on CoNLL-U, and checks every file it writes).

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "ca01").write_text("the/at cat/nn sat/vbd ./.\\n")
    >>> _ = (folder / "eval.conllu").write_text(
    ...     "1\\tThe\\tthe\\tDET\\t_\\t_\\t_\\t_\\t_\\t_\\n\\n")
    >>> train_token_classifier(folder / "ca01", folder / "run",
    ...                        eval=folder / "eval.conllu")
    Traceback (most recent call last):
    ValueError: ...eval.conllu has tags the training data lacks: 'DET' (...)...
    >>> metrics = train_token_classifier(  # doctest: +SKIP
    ...     folder / "ca01", folder / "run", eval=folder / "eval.conllu",
    ...     tagset="universal", epochs=1, batch_size=16, verbose=0)
    >>> metrics["eval_words"], metrics["tags"][:3]  # doctest: +SKIP
    (1, ['NOUN', 'VERB', 'ADJ'])
    """
    from keras_attn import models

    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    options.setdefault("epochs", 3)
    options.setdefault("batch_size", 32)
    corpora = tagged_corpora(
        train,
        eval,
        format,
        tagset,
        held_out,
        options.get("seed", 0),
        max_sentences,
    )
    tags = corpora.tags
    index = {tag: i for i, tag in enumerate(tags)}
    build = _builder(
        output,
        corpora.train,
        len(tags),
        dict(
            pretrained=pretrained,
            preset=preset,
            vocabulary_size=vocabulary_size,
            sequence_length=sequence_length,
        ),
    )
    preprocessor = models.load_bert_preprocessor(output, sequence_length)
    inputs, labels, cut = _rows(preprocessor, corpora.train, index)
    train_words = sum(len(s.words) for s in corpora.train)
    say(
        f"cut {cut} of {train_words} training words (sentences longer "
        f"than --sequence-length {sequence_length} pieces lose their last "
        "words in training; evaluation takes every word)"
    )
    eval_inputs, eval_labels, _ = _rows(preprocessor, corpora.eval, index)
    validation = (
        tf.data.Dataset.from_tensor_slices((eval_inputs, eval_labels))
        .batch(options["batch_size"])
        .map(_trim)
    )
    with warnings.catch_warnings():
        # The tagger reads BERT's sequence output; the pooler takes no
        # part, so Keras finds no gradients for it.
        warnings.filterwarnings("ignore", message=_POOLER_ONLY)
        result = training.train(
            build,
            (inputs, labels),
            output_dir=output,
            validation_data=validation,
            map_batch=_trim,
            loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, ignore_class=-1
            ),
            metrics=(WordAccuracy(),),
            monitor="val_accuracy",
            **options,
        )
    task = models.TokenClassifier.from_network(result.model, preprocessor, tags)
    say(f"tagging {len(corpora.eval)} evaluation sentences")
    predicted, chosen = _predict(task, corpora.eval, options["batch_size"])
    gold = np.concatenate(
        [[index[tag] for tag in s.tags] for s in corpora.eval]
    )
    flat = np.concatenate(predicted)
    scores = tag_scores(gold, flat, tags)
    chosen = np.concatenate(chosen)
    metrics = {
        "accuracy": scores["accuracy"],
        "loss": float(-np.mean(np.log(np.maximum(chosen, 1e-12)))),
        "macro_precision": scores["macro_precision"],
        "macro_recall": scores["macro_recall"],
        "macro_f1": scores["macro_f1"],
        "per_tag": scores["per_tag"],
        "tags": tags,
        "tagset": tagset,
        "evaluated_on": corpora.evaluated_on,
        "eval_files": corpora.eval_files,
        "eval_sentences": len(corpora.eval),
        "eval_words": len(gold),
        "train_sentences": len(corpora.train),
        "train_words": train_words,
        "cut_train_words": cut,
        "sequence_length": sequence_length,
        "best_epoch": result.best_epoch,
    }
    if distribute.is_chief(result.strategy):
        _save(result, output, tags, sequence_length)
        _write_predictions(
            output / "eval_predictions.tsv", corpora.eval, predicted, tags
        )
        _finish(
            result, output, metrics, confusion_counts(gold, flat, len(tags))
        )
    return metrics


def _save(result, output, tags, sequence_length):
    """`model.keras` (its trained optimizer, with the loss and weighted
    accuracy `TokenClassifier` compiles with: Keras's own, so the file
    loads without this module), `classes.json` and `task.json`."""
    model = result.model
    with result.strategy.scope():
        model.compile(
            optimizer=model.optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"
            ),
            weighted_metrics=[
                keras.metrics.SparseCategoricalAccuracy(name="accuracy")
            ],
        )
    model.save(output / "model.keras")
    write_classes(output, tags)
    write_task_file(output, "token_classifier", sequence_length=sequence_length)


def _finish(result, output, metrics, matrix):
    """metrics.json, the curves and the confusion matrix; the summary."""
    with open(output / "metrics.json", "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    try:
        training.plot_history(
            result.history, output / "training_curves.png", "tagger"
        )
        plot_confusion(
            matrix,
            metrics["tags"],
            output / "confusion_matrix.png",
            "tagger: share of each gold tag's words",
        )
    except ImportError as error:
        say(f"no training_curves.png or confusion_matrix.png: {error}")
    for name in (
        "accuracy",
        "macro_f1",
        "eval_words",
        "eval_sentences",
        "train_words",
        "cut_train_words",
        "best_epoch",
    ):
        say(f"{name}: {metrics[name]}")
    f1 = ", ".join(
        f"{tag} {row['f1']:.3f}" for tag, row in metrics["per_tag"].items()
    )
    say(f"F1 per tag: {f1}")
    say(f"wrote {output}")


__all__ = ["train_token_classifier"]
