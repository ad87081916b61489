"""Parallel text (translation pairs) from a local TSV file."""

from pathlib import Path

from keras_attn.data._common import check_positive_int
from keras_attn.data._common import tsv_rows


def read_parallel_text(path, max_pairs=None):
    """Reads `(source, target)` pairs from a TSV file without a header.

    Each non-blank line holds two or more tab-separated columns, as in
    the Tatoeba/Anki files (`english<TAB>french<TAB>attribution`); the
    first two are the pair and the rest is ignored. UTF-8, no quoting.

    Args:
        path: str or Path. The TSV file.
        max_pairs: int or None. Stop after this many pairs (the first
            ones of the file); None reads them all.

    Returns:
        A list of `(source, target)` str tuples, in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line with fewer than two columns or an empty side,
            a non-UTF-8 file, or no pairs at all; the message names the
            file and the line.

    Example:

    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "fra.tsv"
    >>> _ = path.write_text("Go.\\tVa !\\tCC-BY\\n\\nHi.\\tSalut !\\n")
    >>> read_parallel_text(path)
    [('Go.', 'Va !'), ('Hi.', 'Salut !')]
    >>> folder.cleanup()
    """
    path = Path(path)
    if max_pairs is not None:
        max_pairs = check_positive_int("max_pairs", max_pairs)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; expected a TSV file of source<TAB>target lines."
        )
    pairs = []
    try:
        for number, fields in tsv_rows(path):
            if len(fields) < 2:
                raise ValueError(
                    f"{path}, line {number}: expected at least 2 "
                    "tab-separated columns (source, target), received 1: "
                    f"{fields[0][:60]!r}."
                )
            source, target = fields[0], fields[1]
            if not source.strip() or not target.strip():
                raise ValueError(
                    f"{path}, line {number}: expected a non-empty source and "
                    f"target, received {source!r} and {target!r}."
                )
            pairs.append((source, target))
            if max_pairs is not None and len(pairs) == max_pairs:
                break
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: {error}") from None
    if not pairs:
        raise ValueError(
            f"{path} holds no pairs; expected source<TAB>target lines."
        )
    return pairs
