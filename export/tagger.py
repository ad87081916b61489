"""A tagger's `.tflite` file: its vocabulary and tags inside, and
`tag_file`, which tags words with that file alone.

`to_tflite` exports a tagger (a `TokenClassifier`, or a
`bert_token_classifier` model) at a static sequence length `T`: inputs
`token_ids`, `segment_ids`, `padding_mask` int32 `(1, T)` as a text
classifier's file, plus `word_starts` int32 `(1, T - 2)` (each word's
first-piece position, 0 after the last word); output `tag_logits`
float32 `(1, T - 2, tags)`, one row per word.

A `TokenClassifier` carries its WordPiece tokenizer and its tags, and its
file always carries them too, as TFLite Metadata with the schema of our
MediaPipe files (`export.metadata`; MediaPipe has no tagging task):

- a BERT tokenizer process unit whose vocabulary is `vocab.txt`
  (`VOCABULARY`);
- `tokenizer.json` on `token_ids`: `lowercase`, `strip_accents`, the
  special tokens, `##` and the sequence length (the schema has no field
  for casing);
- `tags.txt` (`TENSOR_AXIS_LABELS`) on `tag_logits`: the tags in output
  order.

The files are a stored zip after the flatbuffer: `zipfile.ZipFile(path)`
reads them (`examples/tag_with_litert.py`). A functional tagger model has
no tokenizer, so its file has no metadata.
"""

import json
import pathlib

import numpy as np

from keras_attn.export import _defaults
from keras_attn.export import _specs
from keras_attn.export import metadata as md
from keras_attn.export._mediapipe_inputs import tokenizer as read_tokenizer
from keras_attn.models.tagger import words as wp
from keras_attn.models.tagger.heads import WORD_STARTS

TASK = "token_classifier"
VOCABULARY = "vocab.txt"
TAGS = "tags.txt"
SETTINGS = md.TOKENIZER_SETTINGS
OUTPUT = "tag_logits"
_DESCRIPTIONS = {
    "token_ids": "WordPiece ids (vocab.txt, tokenizer.json): [CLS], each "
    "word's pieces, [SEP], then the pad id.",
    "segment_ids": "0 everywhere.",
    "padding_mask": "1 on [CLS], the pieces and [SEP]; 0 on padding.",
    WORD_STARTS: "Each word's first-piece position in token_ids; 0 after "
    "the last word.",
}


def is_tagger(model):
    """Whether `model` (a Keras model) takes a tagger's `word_starts`."""
    try:
        return WORD_STARTS in _specs.input_names(model)
    except (AttributeError, ValueError):  # no Keras model, or not built
        return False


def check_length(model, sequence_length):
    """A tagger's rows hold `[CLS]`, a word and `[SEP]` at least."""
    if sequence_length is not None and sequence_length < 3 and is_tagger(model):
        raise ValueError(
            "A tagger's `sequence_length` must be at least 3 ([CLS], a "
            f"word's piece, [SEP]); received {sequence_length}."
        )


def _is_words(data):
    return (
        isinstance(data, (list, tuple))
        and len(data) > 0
        and isinstance(data[0], (list, tuple))
        and len(data[0]) > 0
        and all(isinstance(word, str) for word in data[0])
    )


def network_rows(model, data):
    """`data` as the network's inputs: sentences (lists of words) become
    a tagger task's rows (`TokenClassifier.encode_words`); other data is
    returned as it is."""
    if data is None or not _is_words(data) or not is_tagger(model):
        return data
    if not hasattr(model, "encode_words"):
        raise ValueError(
            "Sentences of words need a TokenClassifier to encode them; this "
            "tagger takes the network's inputs: dicts with token_ids, "
            f"segment_ids, padding_mask and {WORD_STARTS}."
        )
    return model.encode_words(data)[0]


def contents(model):
    """What a tagger task's file carries: `{"tokenizer": ..., "tags":
    [...], "special": {...}}`; None for a model that is no tagger or
    carries no tokenizer."""
    if not is_tagger(model):
        return None
    trained = _defaults.trained_with(model)
    if trained.tokenizer is None:
        return None
    hub = trained.tokenizer
    tokenizer = read_tokenizer(None, hub)
    classes = model.output.shape[-1]
    tags = trained.class_names or [str(i) for i in range(classes)]
    if len(tags) != classes:
        raise ValueError(
            f"The tagger scores {classes} tags; its class_names are "
            f"{len(tags)}: {tags[:8]}."
        )
    special = {
        "cls_token": getattr(hub, "cls_token", "[CLS]"),
        "sep_token": getattr(hub, "sep_token", "[SEP]"),
        "pad_token": getattr(hub, "pad_token", "[PAD]"),
        "unk_token": getattr(hub, "oov_token", "[UNK]"),
        "suffix_indicator": getattr(hub, "suffix_indicator", "##"),
    }
    tokens = set(tokenizer["tokens"])
    missing = [
        token
        for key, token in special.items()
        if key != "suffix_indicator" and token not in tokens
    ]
    if missing:
        raise ValueError(
            f"The tagger's vocabulary lacks {missing}; expected the "
            "tokenizer's special tokens in it."
        )
    return {"tokenizer": tokenizer, "tags": tags, "special": special}


def _lines(items):
    return ("\n".join(items) + "\n").encode("utf-8")


def _metadata(name, inputs, outputs, found, length):
    from keras_attn import __version__

    meta = md.ModelMetadata(
        name=name,
        description="A token classifier (tagger) written by keras_attn: "
        "WordPiece ids and each word's first-piece position in, one row "
        "of tag logits per word out.",
        version=__version__,
        author="keras_attn",
    )
    vocab = md.AssociatedFile(VOCABULARY, "VOCABULARY", "WordPiece vocabulary.")
    meta.input_process_units = [md.BertTokenizer(vocab)]
    for input_name, _, _ in inputs:
        tensor = md.TensorMetadata(
            input_name,
            description=_DESCRIPTIONS.get(input_name),
            content="feature",
        )
        if input_name == "token_ids":
            tensor.associated_files = [
                md.AssociatedFile(
                    SETTINGS,
                    description="WordPiece settings (JSON): lowercase, "
                    "strip_accents, special tokens, sequence_length.",
                )
            ]
        meta.inputs.append(tensor)
    for output_name, _, _ in outputs:
        meta.outputs.append(
            md.TensorMetadata(
                output_name,
                description="Logits of each word's tags (tags.txt order), "
                "one row per word; rows after the last word mean nothing.",
                content="feature",
                associated_files=[
                    md.AssociatedFile(TAGS, "TENSOR_AXIS_LABELS", "Tags.")
                ],
            )
        )
    tokenizer = found["tokenizer"]
    settings = dict(
        type="bert_wordpiece",
        lowercase=tokenizer["lowercase"],
        strip_accents=tokenizer["strip_accents"],
        **found["special"],
        sequence_length=length,
    )
    files = {
        VOCABULARY: _lines(tokenizer["tokens"]),
        TAGS: _lines(found["tags"]),
        SETTINGS: (json.dumps(settings, indent=1) + "\n").encode("utf-8"),
    }
    return meta, files


def write_file(plain, path, model, found, sequence_length):
    """Writes `plain` (the exported `.tflite` file) to `path` with the
    tagger's metadata (`found`, from `contents`); returns what the
    report's `metadata` says."""
    plain, path = pathlib.Path(plain), pathlib.Path(path)
    inputs, outputs = md.model_io(plain.read_bytes())
    length = sequence_length or _defaults.trained_with(model).sequence_length
    meta, files = _metadata(model.name, inputs, outputs, found, length)
    md.write_file(plain, path, meta, files)
    tokenizer = found["tokenizer"]
    return {
        "task": TASK,
        "tokenizer": {
            "type": "bert",
            "vocab_size": len(tokenizer["tokens"]),
            "lowercase": tokenizer["lowercase"],
            "strip_accents": tokenizer["strip_accents"],
            "sequence_length": length,
        },
        "labels": found["tags"],
        "files": sorted(files),
    }


def read_file_settings(blob):
    """`(vocabulary tokens, tags, settings dict)` from a tagger file's
    bytes; ValueError when it holds no tagger metadata."""
    _, files = md.read(blob)
    missing = [n for n in (VOCABULARY, TAGS, SETTINGS) if n not in files]
    if missing:
        raise ValueError(
            f"The file holds no tagger metadata (no {missing}); expected a "
            "TokenClassifier's file from keras_attn.export.to_tflite."
        )

    def lines(data):
        found = data.decode("utf-8").split("\n")
        return found[:-1] if found[-1] == "" else found

    settings = json.loads(files[SETTINGS].decode("utf-8"))
    return lines(files[VOCABULARY]), lines(files[TAGS]), settings


def _rows(pieces, length, special_ids):
    """Rows for every word (windows for long sentences, as
    `TokenClassifier.predict`) and each word's `(row, index in row)`."""
    rows, plan = [], []
    for sentence in pieces:
        windows, owner = wp.word_windows([len(p) for p in sentence], length - 2)
        base = len(rows)
        rows.extend(sentence[a:b] for a, b in windows)
        plan.append(
            [
                (base + owner[w], w - windows[owner[w]][0])
                for w in range(len(sentence))
            ]
        )
    return wp.encode(rows, length, special_ids), plan


def tag_file(path, sentences, num_threads=2, return_logits=False):
    """Tags sentences of words with a tagger's `.tflite` file alone.

    The vocabulary, casing and tags come from the file's metadata; words
    become pieces with keras-hub's WordPiece tokenizer as the
    `TokenClassifier` does, and long sentences run in the same
    overlapping windows, so the tags are those of `TokenClassifier.tag`
    (each word's first piece) up to the file's arithmetic (for example
    int8 quantization).

    Args:
        path: a `.tflite` file from `to_tflite` of a `TokenClassifier`.
        sentences: a list of sentences, each a list of words (str).
        num_threads: int. LiteRT interpreter threads.
        return_logits: bool. Also return each sentence's float32
            `(words, tags)` logits.

    Returns:
        A list (sentence) of lists of tag names; with `return_logits`,
        `(tags, logits)`.
    """
    from ai_edge_litert.interpreter import Interpreter

    from keras_attn.models import bert_preprocessor

    blob = pathlib.Path(path).read_bytes()
    tokens, tags, settings = read_file_settings(blob)
    lowercase = bool(settings.get("lowercase", True))
    strip_accents = bool(settings.get("strip_accents", lowercase))
    # The task's WordPiece tokenizer (keras-hub's, splitting on every
    # Unicode space), with the file's casing.
    tokenizer = bert_preprocessor(tokens, lowercase=lowercase).tokenizer
    if strip_accents != lowercase:
        tokenizer = type(tokenizer)(
            vocabulary=tokens, lowercase=lowercase, strip_accents=strip_accents
        )
    index = {token: i for i, token in enumerate(tokens)}
    special_ids = tuple(
        index[settings.get(key, default)]
        for key, default in (
            ("cls_token", "[CLS]"),
            ("sep_token", "[SEP]"),
            ("pad_token", "[PAD]"),
        )
    )
    runner = Interpreter(
        model_content=blob, num_threads=num_threads
    ).get_signature_runner()
    shape = runner.get_input_details()["token_ids"]["shape"]
    length = int(shape[1]) if shape[1] > 0 else int(settings["sequence_length"])
    sentences = wp.check_sentences(sentences)
    pieces = wp.word_pieces(tokenizer, sentences)
    encoded, plan = _rows(pieces, length, special_ids)
    names = list(runner.get_input_details())
    logits = []
    for row in range(len(encoded.words)):
        feed = {name: encoded.inputs[name][row : row + 1] for name in names}
        (out,) = runner(**feed).values()
        logits.append(np.asarray(out[0], "float32"))  # (T - 2, tags)
    per_sentence = [
        np.stack([logits[row][k] for row, k in words]) for words in plan
    ]
    found = [[tags[i] for i in np.argmax(x, axis=-1)] for x in per_sentence]
    return (found, per_sentence) if return_logits else found


__all__ = [
    "OUTPUT",
    "SETTINGS",
    "TAGS",
    "TASK",
    "VOCABULARY",
    "contents",
    "is_tagger",
    "network_rows",
    "read_file_settings",
    "tag_file",
    "write_file",
]
