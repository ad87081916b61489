"""Labelled text from a local TSV or CSV file, without TensorFlow.

`read_labelled_texts` reads a file with a header row into texts, class
ids and class names; `read_text_classification` is the same without the
names. Both import only the standard library and NumPy, so the command
line checks a user's file before it loads TensorFlow.

Columns: the text column defaults to `sentence` (GLUE's SST-2), or to the
one of `text`, `content` and `review` the header has; the label column
defaults to `label`. Labels are either class ids (integers >= 0, every
label of the file) or class names (no label of the file a number), which
become ids in sorted order.
"""

import csv
import re
from pathlib import Path

import numpy as np

from keras_attn.data._common import csv_rows
from keras_attn.data._common import parse_label
from keras_attn.data._common import tsv_rows

# The text column when none is named: the first, else the only one of
# the others that the header has.
DEFAULT_TEXT_COLUMN = "sentence"
OTHER_TEXT_COLUMNS = ("text", "content", "review")
DEFAULT_LABEL_COLUMN = "label"
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class ColumnError(ValueError):
    """A header without the column asked for (or with several that fit).

    `argument` is `"text_column"` or `"label_column"`: the argument (or
    command-line flag) that chooses it.

    Example:

    >>> error = ColumnError("no column 'label'", "label_column")
    >>> isinstance(error, ValueError), error.argument
    (True, 'label_column')
    """

    def __init__(self, message, argument):
        super().__init__(message)
        self.argument = argument


def _text_index(path, line, names, text_column):
    """The index of the text column in `names`."""
    if text_column is not None:
        if text_column not in names:
            raise ColumnError(
                f"{path}, line {line}: the header has no column "
                f"{text_column!r} (`text_column`); found {names}.",
                "text_column",
            )
        return names.index(text_column)
    if DEFAULT_TEXT_COLUMN in names:
        return names.index(DEFAULT_TEXT_COLUMN)
    found = [name for name in OTHER_TEXT_COLUMNS if name in names]
    if len(found) == 1:
        return names.index(found[0])
    expected = (
        f"{DEFAULT_TEXT_COLUMN!r}, or one of "
        f"{', '.join(repr(n) for n in OTHER_TEXT_COLUMNS)}"
    )
    if found:
        raise ColumnError(
            f"{path}, line {line}: the header has several text columns "
            f"{found} and no {DEFAULT_TEXT_COLUMN!r}; name the one to use "
            "with `text_column`.",
            "text_column",
        )
    raise ColumnError(
        f"{path}, line {line}: the header has no text column; expected "
        f"{expected}, or name it with `text_column`; found {names}.",
        "text_column",
    )


def _label_index(path, line, names, label_column, text_index):
    if label_column not in names:
        raise ColumnError(
            f"{path}, line {line}: the header has no column {label_column!r} "
            f"(`label_column`); found {names}.",
            "label_column",
        )
    index = names.index(label_column)
    if index == text_index:
        raise ColumnError(
            f"{path}: `text_column` and `label_column` must differ; both "
            f"are {label_column!r}.",
            "label_column",
        )
    return index


def _read_rows(path, text_column, label_column):
    """`(texts, [(line, label text)])` of every example of the file."""
    rows = tsv_rows(path) if path.suffix.lower() == ".tsv" else csv_rows(path)
    texts, labels = [], []
    try:
        header = next(rows, None)
        if header is None:
            raise ValueError(
                f"{path} is empty; expected a header row naming the text "
                "and label columns, then one example per line."
            )
        header_line, names = header
        names = [name.strip() for name in names]
        text_index = _text_index(path, header_line, names, text_column)
        label_index = _label_index(
            path, header_line, names, label_column, text_index
        )
        for number, fields in rows:
            if len(fields) != len(names):
                raise ValueError(
                    f"{path}, line {number}: expected {len(names)} fields "
                    f"(as in the header {names}), received {len(fields)}."
                )
            texts.append(fields[text_index])
            labels.append((number, fields[label_index].strip()))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: {error}") from None
    except csv.Error as error:
        raise ValueError(f"{path} is not valid CSV: {error}") from None
    if not texts:
        raise ValueError(
            f"{path} has a header but no examples; expected one example "
            "per line after it."
        )
    return texts, labels


def _class_ids(path, labels, classes):
    """`(ids, classes)` of the `(line, text)` labels: integers as they
    are, names as their index in `classes` (sorted names by default)."""
    blank = [line for line, text in labels if not text]
    if blank:
        raise ValueError(
            f"{path}, line {blank[0]}: the label is empty; expected a class "
            "id or a class name."
        )
    numbers = [_NUMBER.fullmatch(text) is not None for _, text in labels]
    if all(numbers):
        ids = [parse_label(path, line, text) for line, text in labels]
        if classes is None:
            classes = [str(i) for i in range(max(2, max(ids) + 1))]
        elif classes != [str(i) for i in range(len(classes))]:
            raise ValueError(
                f"{path}, line {labels[0][0]}: the labels are class ids but "
                f"the training file's are names {classes}; expected names."
            )
        elif max(ids) >= len(classes):
            line = labels[ids.index(max(ids))][0]
            raise ValueError(
                f"{path}, line {line}: class id {max(ids)} is out of range; "
                f"the training file has {len(classes)} classes."
            )
        return ids, classes
    if any(numbers):
        name = next(i for i, number in enumerate(numbers) if not number)
        number = next(i for i, number in enumerate(numbers) if number)
        first = min(name, number)
        other = max(name, number)
        raise ValueError(
            f"{path}, line {labels[other][0]}: the label "
            f"{labels[other][1]!r} is a "
            f"{'number' if numbers[other] else 'name'} but line "
            f"{labels[first][0]}'s {labels[first][1]!r} is a "
            f"{'number' if numbers[first] else 'name'}; expected class ids "
            "(integers >= 0) on every line, or class names on every line."
        )
    if classes is None:
        classes = sorted({text for _, text in labels})
    index = {name: i for i, name in enumerate(classes)}
    unknown = [(line, text) for line, text in labels if text not in index]
    if unknown:
        line, text = unknown[0]
        raise ValueError(
            f"{path}, line {line}: the class {text!r} is not one of the "
            f"training file's {classes}."
        )
    return [index[text] for _, text in labels], classes


def read_labelled_texts(
    path, text_column=None, label_column=DEFAULT_LABEL_COLUMN, classes=None
):
    """Reads `(texts, labels, classes)` from a `.tsv` or `.csv` file.

    The first non-blank line names the columns; every other non-blank
    line is one example with exactly as many fields as the header. A
    `.tsv` is split on tabs with no quoting (a text holding a tab is an
    error); a `.csv` is read with Python's `csv` module, so quoted fields
    may hold commas, quotes and line breaks. The file is UTF-8 (a
    byte-order mark is allowed).

    Labels are class ids or class names, the same kind on every line:

    - integers >= 0 are the class ids themselves; `classes` is then
      `["0", "1", ..., str(largest)]` (at least two);
    - names (labels that are not numbers, such as `pos` and `neg`) are
      numbered in sorted order: `classes` is the sorted distinct names
      and each label's id is its index there, so the same names give the
      same ids in any file and any row order.

    Args:
        path: str or Path. A file ending in `.tsv` or `.csv`.
        text_column: str or None. The header name of the text column.
            None (the default) takes `sentence`, or else the one of
            `text`, `content` and `review` that the header has.
        label_column: str. The header name of the label column. Defaults
            to `"label"`.
        classes: None, or the class names of another file (the training
            file's, for an evaluation file): names are then numbered as
            there, and a name or id not among them is an error.

    Returns:
        `(texts, labels, classes)`: a list of str, an int32 NumPy array
        of class ids of the same length (file order), and the list of
        class names, index = class id.

    Raises:
        FileNotFoundError: the file does not exist.
        ColumnError: (a ValueError) the header lacks the column asked
            for, or has several text columns and none chosen;
            `error.argument` names the argument.
        ValueError: another suffix, a folder, a non-UTF-8 or empty file,
            a line with the wrong number of fields, a number that is not
            a class id, numbers and names mixed, or a name or id not in
            `classes`; the message names the file and the line.

    Example:

    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "reviews.csv"
    >>> _ = path.write_text("review,sentiment\\ngreat fun,pos\\ndull,neg\\n")
    >>> texts, labels, classes = read_labelled_texts(
    ...     path, label_column="sentiment")
    >>> texts, labels.tolist(), classes
    (['great fun', 'dull'], [1, 0], ['neg', 'pos'])
    >>> folder.cleanup()
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".tsv", ".csv"):
        raise ValueError(
            f"{path}: expected a .tsv or .csv file, received the suffix "
            f"{path.suffix!r}."
        )
    if text_column is not None and text_column == label_column:
        raise ColumnError(
            "`text_column` and `label_column` must differ; both are "
            f"{text_column!r}.",
            "label_column",
        )
    if path.is_dir():
        raise ValueError(
            f"{path} is a folder; expected a {suffix} file with a header row."
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; expected a {suffix} file with a header row "
            "naming the text and label columns."
        )
    texts, labels = _read_rows(path, text_column, label_column)
    ids, classes = _class_ids(
        path, labels, None if classes is None else list(classes)
    )
    return texts, np.asarray(ids, dtype=np.int32), classes


def read_text_classification(
    path, text_column=None, label_column=DEFAULT_LABEL_COLUMN
):
    """Reads `(texts, labels)` from a `.tsv` or `.csv` file with a header.

    `read_labelled_texts` without the class names: the same columns and
    file rules. Labels are class ids (integers >= 0, as in GLUE's SST-2:
    `label<TAB>sentence`), or class names such as `pos` and `neg`,
    numbered in sorted order (`neg` 0, `pos` 1); `read_labelled_texts`
    also returns that list of names.

    Args:
        path: str or Path. A file ending in `.tsv` or `.csv`.
        text_column: str or None. The header name of the text column;
            None (the default) takes `sentence`, or else the one of
            `text`, `content` and `review` that the header has.
        label_column: str. The header name of the label column. Defaults
            to `"label"`.

    Returns:
        `(texts, labels)`: a list of str and an int32 NumPy array of the
        same length, in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: as `read_labelled_texts`; the message names the file
            and the line.

    Example:

    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "train.tsv"
    >>> _ = path.write_text("label\\tsentence\\n1\\ta gem\\n0\\tdull , flat\\n")
    >>> texts, labels = read_text_classification(path)
    >>> texts, labels.tolist()
    (['a gem', 'dull , flat'], [1, 0])
    >>> folder.cleanup()
    """
    texts, labels, _ = read_labelled_texts(path, text_column, label_column)
    return texts, labels


__all__ = [
    "ColumnError",
    "DEFAULT_LABEL_COLUMN",
    "DEFAULT_TEXT_COLUMN",
    "OTHER_TEXT_COLUMNS",
    "read_labelled_texts",
    "read_text_classification",
]
