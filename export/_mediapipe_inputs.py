"""What the user gives `to_mediapipe`, checked against what MediaPipe
reads (private): the tokenizer's vocabulary and casing, the labels, the
image normalization; and `mediapipe_text`, the normalization an app
applies to text when MediaPipe's tokenizer cannot.

MediaPipe 1.2's BERT tokenizer lowercases ASCII letters only, never strips
accents, splits on ASCII whitespace, punctuation and CJK characters, then
WordPiece with `##`; it reads vocab.txt skipping empty lines.
"""

import json
import os
import pathlib
import unicodedata

import numpy as np

_SPECIAL = ("[CLS]", "[SEP]", "[UNK]")


def mediapipe_text(text, lowercase=True, strip_accents=True):
    """`text` as an uncased BERT tokenizer sees it, for MediaPipe's.

    MediaPipe's BERT tokenizer lowercases A-Z only, keeps accents and
    splits words on ASCII whitespace only. A checkpoint whose tokenizer
    lowercases every letter and strips accents (transformers'
    `do_lower_case`, all-MiniLM-L6-v2, bert-base-uncased) reads "Café"
    as "cafe"; MediaPipe would look up "café". Calling MediaPipe on
    `mediapipe_text(text)` instead gives the model the checkpoint's
    pieces: Unicode spaces become " ", then `text.lower()` (with
    `lowercase`), then NFD and combining marks dropped (with
    `strip_accents`). The same line in an app, before calling MediaPipe:

        Kotlin: Normalizer.normalize(text.lowercase(), Normalizer.Form.NFD)
                    .replace(Regex("\\p{Mn}+"), "")
                    .replace(Regex("\\p{Zs}"), " ")      // java.text
        Swift:  String(String.UnicodeScalarView(
                    text.lowercased().decomposedStringWithCanonicalMapping
                        .unicodeScalars.filter {
                            $0.properties.generalCategory != .nonspacingMark
                        }))
        JS:     text.toLowerCase().normalize("NFD")
                    .replace(/\\p{Mn}/gu, "").replace(/\\p{Zs}/gu, " ")

    (The Swift line leaves Unicode spaces; MediaPipe splits on ASCII
    whitespace only, so replace them too where text may hold them.)

    Args:
        text: str.
        lowercase: bool. Lowercase every letter (an uncased checkpoint).
        strip_accents: bool. Drop accents (NFD, then no category Mn).

    Returns:
        str.

    Example:

    >>> mediapipe_text("Naïve CAFÉ in São\\u00a0Paulo")
    'naive cafe in sao paulo'
    """
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)
    if lowercase:
        text = text.lower()
    if strip_accents:
        text = unicodedata.normalize("NFD", text)
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return text


# -- What the user gives ------------------------------------------------------


def _tokens_of_file(path):
    """The tokens of a vocab.txt, refusing what MediaPipe would misread."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: {error}") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _check_tokens(tokens, source):
    empty = [index + 1 for index, token in enumerate(tokens) if not token]
    if empty:
        raise ValueError(
            f"{source} has empty lines (lines {empty[:5]}): MediaPipe skips "
            "empty lines when it reads a vocabulary, so every later token "
            "would get an id one lower than the model's. Expected one "
            "non-empty token a line."
        )
    odd = [t for t in tokens if t != t.strip() or "\n" in t or "\r" in t]
    if odd:
        raise ValueError(
            f"{source} has tokens with surrounding or line-break whitespace "
            f"{odd[:5]}; expected one token a line without spaces."
        )
    missing = [t for t in _SPECIAL if t not in tokens]
    if missing:
        raise ValueError(
            f"{source} lacks {missing}; MediaPipe's BERT tokenizer needs "
            f"{list(_SPECIAL)}."
        )
    if len(set(tokens)) != len(tokens):
        raise ValueError(f"{source} lists a token twice.")


def _casing(folder):
    """`{lowercase, strip_accents}` as transformers' BertTokenizer reads a
    checkpoint's tokenizer_config.json (and `load_bert_preprocessor`):
    lowercase by default; accents stripped when `strip_accents` is unset
    and the text is lowercased."""
    path = folder / "tokenizer_config.json"
    try:
        config = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    except ValueError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    lowercase = bool(config.get("do_lower_case", True))
    strip_accents = config.get("strip_accents")
    strip_accents = lowercase if strip_accents is None else strip_accents
    return {"lowercase": lowercase, "strip_accents": bool(strip_accents)}


def _vocabulary(hub):
    if hasattr(hub, "get_vocabulary"):
        return hub.get_vocabulary()
    return hub.vocabulary


def tokenizer(vocabulary, task_tokenizer=None):
    """`{tokens, lowercase, strip_accents, source, assumed}` from a
    checkpoint folder, a vocab.txt or a keras-hub tokenizer/preprocessor;
    when `vocabulary` is None, from `task_tokenizer` (the model's own)."""
    if vocabulary is None and task_tokenizer is not None:
        found = tokenizer(task_tokenizer)
        return dict(found, source=f"the model's {found['source']}")
    if vocabulary is None:
        raise ValueError(
            "A text task needs `vocabulary`: the checkpoint folder (with "
            "vocab.txt), a vocab.txt file, or a keras-hub BertTokenizer; "
            "received None, and the model has no preprocessor with a "
            "WordPiece tokenizer to take it from."
        )
    hub = getattr(vocabulary, "tokenizer", vocabulary)
    listed = isinstance(getattr(hub, "vocabulary", None), (list, tuple))
    readable = hasattr(hub, "get_vocabulary") or listed
    if readable and hasattr(hub, "strip_accents"):
        tokens = [str(t) for t in _vocabulary(hub)]
        found = dict(lowercase=bool(hub.lowercase))
        found.update(strip_accents=bool(hub.strip_accents))
        found.update(source=type(hub).__name__, assumed=False)
    elif isinstance(vocabulary, (str, os.PathLike)):
        path = pathlib.Path(vocabulary)
        if path.is_dir():
            if not (path / "vocab.txt").is_file():
                raise FileNotFoundError(
                    f"No vocab.txt in {path}; expected a checkpoint folder "
                    "with the WordPiece vocabulary (and tokenizer_config.json)."
                )
            tokens = _tokens_of_file(path / "vocab.txt")
            found = dict(_casing(path), source=str(path), assumed=False)
        elif path.is_file():
            tokens = _tokens_of_file(path)
            # transformers' BertTokenizer defaults; a folder says for sure.
            found = dict(lowercase=True, strip_accents=True)
            found.update(source=str(path), assumed=True)
        else:
            raise FileNotFoundError(f"No vocabulary folder or file at {path}.")
    else:
        raise TypeError(
            "`vocabulary` must be a folder, a vocab.txt path or a keras-hub "
            f"BertTokenizer; received {type(vocabulary).__name__}."
        )
    _check_tokens(tokens, found["source"])
    return dict(found, tokens=tokens)


def tokenizer_warnings(tokenizer):
    """What MediaPipe's tokenizer does differently from the checkpoint's,
    as warning texts (none for a cased checkpoint that keeps accents,
    apart from MediaPipe's ASCII lowercasing)."""
    lowercase, strip = tokenizer["lowercase"], tokenizer["strip_accents"]
    source = tokenizer["source"]
    if tokenizer["assumed"]:
        source += ", settings assumed: give the checkpoint folder to read them"
    found = []
    if lowercase or strip:
        steps = " and ".join(
            step
            for step, on in (
                ("lowercases every letter", lowercase),
                ("strips accents", strip),
            )
            if on
        )
        example = "'Café'" if strip else "'ÉCOLE'"
        call = "mediapipe_text(text)"
        if not (lowercase and strip):
            call = f"mediapipe_text(text, lowercase={lowercase}, " + (
                f"strip_accents={strip})"
            )
        found.append(
            f"The checkpoint's tokenizer ({source}) {steps}; MediaPipe's "
            "lowercases A-Z only and keeps accents, so "
            f"{example} reaches the model as other pieces than in training. "
            f"Apps should pass MediaPipe keras_attn.export.{call} instead "
            "of the text (its docstring has the line in Kotlin, Swift and "
            "JavaScript)."
        )
    if not lowercase:
        found.append(
            f"The checkpoint's tokenizer ({source}) is cased; MediaPipe "
            "lowercases A-Z before looking words up, so 'Paris' is looked "
            "up as 'paris'."
        )
    return found


def labels(labels, task):
    if labels is None:
        raise ValueError(
            f"The {task} task needs `labels`: the class names in output "
            "order (a list, or a file with one a line); received None, and "
            "the model has no `class_names` to take them from."
        )
    if isinstance(labels, (str, os.PathLike)):
        if not pathlib.Path(labels).is_file():
            raise FileNotFoundError(
                f"No labels file at {labels}; pass a file with one class "
                "name a line, or a list of names."
            )
        labels = _tokens_of_file(labels)
    labels = [str(label) for label in labels]
    bad = [label for label in labels if not label.strip() or "\n" in label]
    if bad or not labels:
        raise ValueError(
            f"Labels must be non-empty single lines; received {labels[:8]}."
        )
    return labels


def normalization(normalization, channels):
    """`(mean, std)` lists of 1 or `channels` floats."""
    if normalization is None:
        raise ValueError(
            "An image task needs `normalization=(mean, std)`: the model's "
            "input is (pixel - mean) / std of 0..255 pixels, e.g. (0, 255) "
            "for [0, 1] or (127.5, 127.5) for [-1, 1]; received None, and "
            "the model has no preprocessor with an image converter to take "
            "it from."
        )
    try:
        mean, std = (
            np.atleast_1d(np.asarray(v, "float64")) for v in normalization
        )
    except (TypeError, ValueError):
        raise ValueError(
            f"`normalization` must be (mean, std); received {normalization!r}."
        ) from None
    for name, values in (("mean", mean), ("std", std)):
        if values.ndim != 1 or len(values) not in (1, channels):
            raise ValueError(
                f"The normalization {name} must be one value or {channels} "
                f"(one a channel); received {values.tolist()}."
            )
    if np.any(std <= 0) or not np.all(np.isfinite(np.r_[mean, std])):
        raise ValueError(f"std must be > 0; received {normalization!r}.")
    return mean.tolist(), std.tolist()
