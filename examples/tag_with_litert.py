"""Tag words with a tagger's `.tflite` file and LiteRT alone, as an app does.

    python examples/tag_with_litert.py tagger.tflite The cat sat on the mat .
    python examples/tag_with_litert.py tagger.tflite \\
        --sentence "Time flies like an arrow ." --sentence "I saw her duck"
    python examples/tag_with_litert.py tagger.tflite --json

`keras_attn.export.to_tflite` of a `TokenClassifier` writes one file: the
network, plus its WordPiece vocabulary (`vocab.txt`), the tokenizer's
casing (`tokenizer.json`) and the tags (`tags.txt`) as TFLite Metadata,
whose files are a zip appended to the flatbuffer, so `zipfile` reads them.
This script needs only that file, NumPy and `ai_edge_litert` (no
TensorFlow, no keras_attn): it splits each word into pieces as BERT does
(lowercase, accents stripped, split at punctuation, greedy longest match
with `##`), builds the rows (`[CLS]`, the pieces, `[SEP]`, padding) and
`word_starts` (each word's first piece), runs the file and names the
tag of each word from its first piece, as `TokenClassifier.tag` does.

The words on the command line are one sentence; `--sentence` (split at
spaces) adds more; with neither, it tags a few of its own. A sentence too
long for one row is tagged in consecutive chunks of words
(`TokenClassifier.tag` uses overlapping windows, so a word near a chunk's
edge may get another tag there).
"""

import argparse
import json
import unicodedata
import zipfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter

SENTENCES = [
    "The cat sat on the mat .".split(),
    "Time flies like an arrow .".split(),
    "She reads books in the café every morning .".split(),
]


def read_metadata(path):
    """`(vocabulary {token: id}, tags, settings)` from the file's zip."""
    with zipfile.ZipFile(path) as packed:
        text = {
            name: packed.read(name).decode("utf-8").removesuffix("\n")
            for name in ("vocab.txt", "tags.txt", "tokenizer.json")
        }
    vocabulary = {
        token: i for i, token in enumerate(text["vocab.txt"].split("\n"))
    }
    return (
        vocabulary,
        text["tags.txt"].split("\n"),
        json.loads(text["tokenizer.json"]),
    )


def _is_punctuation(char):
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96:
        return True
    return 123 <= code <= 126 or unicodedata.category(char).startswith("P")


def _is_cjk(char):
    code = ord(char)
    return any(
        low <= code <= high
        for low, high in (
            (0x4E00, 0x9FFF),
            (0x3400, 0x4DBF),
            (0x20000, 0x2A6DF),
            (0x2A700, 0x2B73F),
            (0x2B740, 0x2B81F),
            (0x2B820, 0x2CEAF),
            (0xF900, 0xFAFF),
            (0x2F800, 0x2FA1F),
        )
    )


def split_word(word, settings):
    """BERT's basic tokenizer on one word: accents stripped, split at
    spaces and control characters, punctuation and CJK characters kept
    as pieces of their own, then case-folded."""
    if settings["strip_accents"]:
        word = unicodedata.normalize("NFD", word)
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
    parts, current = [], ""
    for char in word:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs"):
            parts, current = parts + [current], ""
        elif _is_punctuation(char) or _is_cjk(char):
            parts, current = parts + [current, char], ""
        else:
            current += char
    parts = [part for part in parts + [current] if part]
    return [p.casefold() for p in parts] if settings["lowercase"] else parts


def word_pieces(word, vocabulary, settings):
    """The piece ids of one word: greedy longest match, `##` inside."""
    unknown = vocabulary[settings["unk_token"]]
    suffix = settings["suffix_indicator"]
    ids = []
    for part in split_word(word, settings):
        if len(part.encode("utf-8")) > 100:  # as keras-hub: one [UNK]
            ids.append(unknown)
            continue
        found, start = [], 0
        while start < len(part):
            end = len(part)
            while end > start:
                piece = (
                    part[start:end] if start == 0 else suffix + part[start:end]
                )
                if piece in vocabulary:
                    break
                end -= 1
            if end == start:  # no piece matches: the whole part is [UNK]
                found = [unknown]
                break
            found.append(vocabulary[piece])
            start = end
        ids.extend(found)
    return ids or [unknown]  # a word of spaces still gets a first piece


def rows(sentence, vocabulary, settings, length):
    """`(inputs, words)` per row: the network's inputs (batch 1) and how
    many of the sentence's words the row holds."""
    cls, sep, pad = (
        vocabulary[settings[k + "_token"]] for k in ("cls", "sep", "pad")
    )
    pieces = [word_pieces(word, vocabulary, settings) for word in sentence]
    found, at = [], 0
    while at < len(pieces):
        tokens, starts = [cls], []
        while at < len(pieces) and (
            len(tokens) - 1 + len(pieces[at]) <= length - 2 or not starts
        ):
            starts.append(len(tokens))
            tokens += pieces[at][: length - 2 - (len(tokens) - 1)]
            at += 1
        tokens.append(sep)
        token_ids = np.full((1, length), pad, "int32")
        token_ids[0, : len(tokens)] = tokens
        word_starts = np.zeros((1, length - 2), "int32")
        word_starts[0, : len(starts)] = starts
        inputs = {
            "token_ids": token_ids,
            "segment_ids": np.zeros_like(token_ids),
            "padding_mask": (token_ids != pad).astype("int32"),
            "word_starts": word_starts,
        }
        found.append((inputs, len(starts)))
    return found


def tag(path, sentences, num_threads=2):
    """Each sentence's tags, from the `.tflite` file at `path` alone."""
    vocabulary, tags, settings = read_metadata(path)
    runner = Interpreter(
        model_path=path, num_threads=num_threads
    ).get_signature_runner()
    length = int(runner.get_input_details()["token_ids"]["shape"][1])
    tagged = []
    for sentence in sentences:
        names = []
        for inputs, count in rows(sentence, vocabulary, settings, length):
            (logits,) = runner(**inputs).values()  # (1, length - 2, tags)
            names += [tags[i] for i in np.argmax(logits[0, :count], axis=-1)]
        tagged.append(names)
    return tagged


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a tagger's .tflite file")
    parser.add_argument("words", nargs="*", help="one sentence's words")
    parser.add_argument(
        "--sentence",
        action="append",
        default=[],
        help="a sentence, words split at spaces (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    sentences = ([args.words] if args.words else []) + [
        text.split() for text in args.sentence
    ]
    sentences = [s for s in sentences if s] or SENTENCES
    tagged = tag(args.model, sentences)
    if args.json:
        print(
            json.dumps(
                [
                    {"words": s, "tags": t}
                    for s, t in zip(sentences, tagged, strict=True)
                ],
                ensure_ascii=False,
            )
        )
        return
    for sentence, tags in zip(sentences, tagged, strict=True):
        print(
            " ".join(
                f"{word}/{name}"
                for word, name in zip(sentence, tags, strict=True)
            )
        )


if __name__ == "__main__":
    main()
