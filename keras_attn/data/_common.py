"""Argument checks and row readers the data modules share (private)."""

import csv
import re

import numpy as np

INTEGER = re.compile(r"[+-]?[0-9]+")
INT32_MAX = np.iinfo(np.int32).max


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"`{name}` must be a positive int; received {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"`{name}` must be a positive int; received {value}.")
    return int(value)


def check_fraction(name, value, allow_zero):
    low = "0 <=" if allow_zero else "0 <"
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise TypeError(
            f"`{name}` must be a number with {low} {name} < 1; received "
            f"{value!r} of type {type(value).__name__}."
        )
    if not ((0 <= value if allow_zero else 0 < value) and value < 1):
        raise ValueError(
            f"`{name}` must satisfy {low} {name} < 1; received {value}."
        )
    return float(value)


def as_texts(texts):
    if isinstance(texts, str | bytes):
        raise TypeError(
            "`texts` must be a list of strings, one per example; received "
            "a single string."
        )
    texts = list(texts)
    if not texts:
        raise ValueError("`texts` is empty; expected at least one example.")
    for index, text in enumerate(texts):
        if not isinstance(text, str | bytes):
            raise TypeError(
                f"`texts` must hold strings; item {index} is "
                f"{type(text).__name__} ({text!r})."
            )
    return texts


def as_labels(labels, count, what="texts"):
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"`labels` must be 1-D, one integer per example; received "
            f"shape {labels.shape}."
        )
    if len(labels) != count:
        raise ValueError(
            f"`labels` must have one entry per example: {count} {what}, "
            f"received {len(labels)} labels."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"`labels` must be integers (class ids); received dtype "
            f"{labels.dtype}."
        )
    if labels.size and (labels.min() < 0 or labels.max() > INT32_MAX):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise ValueError(
            f"`labels` must be class ids >= 0 that fit in int32; received "
            f"{bad}."
        )
    return labels.astype(np.int32)


def tsv_rows(path):
    """(line number, fields) of every non-blank line, split on tabs."""
    with path.open(encoding="utf-8-sig") as file:
        for number, line in enumerate(file, start=1):
            line = line.rstrip("\n")
            if line.strip():
                yield number, line.split("\t")


def csv_rows(path):
    """(first line number, fields) of every non-blank CSV record."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        start = 1
        for fields in reader:
            if any(field.strip() for field in fields):
                yield start, fields
            start = reader.line_num + 1


def parse_label(path, number, text):
    text = text.strip()
    if not INTEGER.fullmatch(text):
        raise ValueError(
            f"{path}, line {number}: expected an integer label, received "
            f"{text!r}."
        )
    value = int(text)
    if not 0 <= value <= INT32_MAX:
        raise ValueError(
            f"{path}, line {number}: expected a label >= 0 (a class id), "
            f"received {value}."
        )
    return value
