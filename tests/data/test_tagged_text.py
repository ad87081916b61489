"""Reading CoNLL-U and Brown tagged text: words, tags, places, errors.

The files are written here by hand after the UD format guidelines
(universaldependencies.org/format.html) and the Brown corpus as NLTK
ships it; the expected words and tags are read off them by hand.
"""

import dataclasses
import re

import pytest

from keras_attn.data.tagged_text import TaggedSentence
from keras_attn.data.tagged_text import read_tagged
from keras_attn.data.tagged_text import tagged_files
from keras_attn.data.tagged_text import tagged_format


def conllu(*rows):
    """CoNLL-U text: a str row as it is, a tuple joined by tabs."""
    return "".join(
        (row if isinstance(row, str) else "\t".join(row)) + "\n" for row in rows
    )


def word(id, form, upos, head="0", deprel="root", deps="_", misc="_"):
    lemma = form.lower()
    return (id, form, lemma, upos, "_", "_", head, deprel, deps, misc)


def token_range(span, form):
    return (span, form, *["_"] * 8)


# Line 1 to 8: a multiword token; 10 to 18: an empty node (5.1, the
# elided "likes"); 20 to 27: UTF-8 Spanish with "del" = "de el", and no
# blank line at the end of the file.
TREEBANK = conllu(
    "# sent_id = 1",
    "# text = I don't know.",
    word("1", "I", "PRON", "4", "nsubj"),
    token_range("2-3", "don't"),
    word("2", "do", "AUX", "4", "aux"),
    word("3", "n't", "PART", "4", "advmod"),
    word("4", "know", "VERB"),
    word("5", ".", "PUNCT", "4", "punct"),
    "",
    "# sent_id = 2",
    "# text = Sue likes coffee and Bill tea",
    word("1", "Sue", "PROPN", "2", "nsubj"),
    word("2", "likes", "VERB"),
    word("3", "coffee", "NOUN", "2", "obj"),
    word("4", "and", "CCONJ", "5", "cc"),
    word("5", "Bill", "PROPN", "2", "conj"),
    ("5.1", "likes", "like", "VERB", "_", "_", "_", "_", "2:conj", "_"),
    word("6", "tea", "NOUN", "5", "orphan"),
    "",
    "# sent_id = 3",
    word("1", "Él", "PRON", "2", "nsubj"),
    word("2", "vino", "VERB"),
    token_range("3-4", "del"),
    word("3", "de", "ADP", "5", "case"),
    word("4", "el", "DET", "5", "det"),
    word("5", "mercado", "NOUN", "2", "obl"),
    word("6", "¡", "PUNCT", "2", "punct"),
).rstrip("\n")

# As in NLTK's ca01: two blank lines, then a tab-indented sentence.
BROWN = (
    "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl "
    "said/vbd ``/`` no/at evidence/nn ''/'' ./.\n"
    "\n\n\tHe/pps paid/vbd 1/2/cd of/in it/ppo at/in the/at caf\xe9/nn "
    "--/-- Le/fw-at Monde/fw-np-tl ./.\n"
    "\n\n\tIt's/pps+bez  a/at\tdeal/nn ./.\n"
)


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def where(path, line):
    return re.escape(f"{path}:{line}:")


@pytest.fixture
def treebank(tmp_path):
    return write(tmp_path / "en_test-ud-dev.conllu", TREEBANK)


@pytest.fixture
def brown(tmp_path):
    return write(tmp_path / "ca01", BROWN, "latin-1")


def test_conllu_takes_syntactic_words_not_ranges_or_empty_nodes(treebank):
    first, second, third = read_tagged(treebank)
    assert first.words == ("I", "do", "n't", "know", ".")
    assert first.tags == ("PRON", "AUX", "PART", "VERB", "PUNCT")
    assert second.words == ("Sue", "likes", "coffee", "and", "Bill", "tea")
    assert second.tags == ("PROPN", "VERB", "NOUN", "CCONJ", "PROPN", "NOUN")
    assert third.words == ("Él", "vino", "de", "el", "mercado", "¡")
    assert third.tags == ("PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT")
    assert [s.line for s in (first, second, third)] == [1, 10, 20]
    assert {s.file for s in (first, second, third)} == {str(treebank)}


def test_conllu_universal_tags(treebank):
    first, second, third = read_tagged(treebank, tagset="universal")
    assert first.tags == ("PRON", "VERB", "PRT", "VERB", ".")
    assert second.tags == ("NOUN", "VERB", "NOUN", "CONJ", "NOUN", "NOUN")
    assert third.tags == ("PRON", "VERB", "ADP", "DET", "NOUN", ".")
    assert first.words == ("I", "do", "n't", "know", ".")


def test_conllu_windows_line_ends_and_byte_order_mark(tmp_path):
    text = "\ufeff" + conllu(word("1", "Hi", "INTJ"), "").replace("\n", "\r\n")
    [sentence] = read_tagged(write(tmp_path / "a.conllu", text))
    assert (sentence.words, sentence.tags) == (("Hi",), ("INTJ",))


def test_brown_words_tags_and_lines(brown):
    first, second, third = read_tagged(brown)
    assert first.words == (
        "The", "Fulton", "County", "Grand", "Jury", "said", "``", "no",
        "evidence", "''", ".",
    )  # fmt: skip
    assert first.tags == (
        "at", "np-tl", "nn-tl", "jj-tl", "nn-tl", "vbd", "``", "at", "nn",
        "''", ".",
    )  # fmt: skip
    # Split on the last "/"; latin-1 "é".
    assert second.words == (
        "He", "paid", "1/2", "of", "it", "at", "the", "café", "--", "Le",
        "Monde", ".",
    )  # fmt: skip
    assert second.tags == (
        "pps", "vbd", "cd", "in", "ppo", "in", "at", "nn", "--", "fw-at",
        "fw-np-tl", ".",
    )  # fmt: skip
    assert third.words == ("It's", "a", "deal", ".")
    assert third.tags == ("pps+bez", "at", "nn", ".")
    assert [s.line for s in (first, second, third)] == [3, 6, 9]
    assert first.file == str(brown)


def test_brown_universal_tags(brown):
    first, second, third = read_tagged(brown, tagset="universal")
    assert first.tags == (
        "DET", "NOUN", "NOUN", "ADJ", "NOUN", "VERB", ".", "DET", "NOUN",
        ".", ".",
    )  # fmt: skip
    assert second.tags == (
        "PRON", "VERB", "NUM", "ADP", "PRON", "ADP", "DET", "NOUN", ".",
        "X", "X", ".",
    )  # fmt: skip
    assert third.tags == ("PRT", "DET", "NOUN", ".")


def test_brown_line_with_a_latin1_no_break_space_splits_on_blanks(tmp_path):
    path = write(tmp_path / "cx01", "\tA\xa0B/np ran/vbd\n", "latin-1")
    [sentence] = read_tagged(path)
    assert sentence.words == ("A\xa0B", "ran")


def test_format_from_name_and_content(tmp_path, treebank, brown):
    no_comments = write(tmp_path / "b.txt", conllu(word("1", "Hi", "INTJ")))
    comment_first = write(tmp_path / "c.txt", TREEBANK)
    assert tagged_format(treebank) == "conllu"
    assert tagged_format(no_comments) == "conllu"
    assert tagged_format(comment_first) == "conllu"
    assert tagged_format(brown) == "brown"
    assert read_tagged(no_comments)[0].tags == ("INTJ",)
    # By name: a .conllu file is CoNLL-U whatever its first line.
    named = write(tmp_path / "d.conllu", "\tThe/at jury/nn\n")
    assert tagged_format(named) == "conllu"


def test_format_argument_overrides_detection(tmp_path):
    path = write(tmp_path / "ca01.conllu", "\tThe/at jury/nn\n")
    with pytest.raises(ValueError, match=where(path, 1) + ".*10 tab"):
        read_tagged(path)
    [sentence] = read_tagged(path, format="brown")
    assert (sentence.words, sentence.tags) == (("The", "jury"), ("at", "nn"))


def test_brown_folder_skips_package_files(tmp_path):
    folder = tmp_path / "package"
    folder.mkdir()
    write(folder / "cb01", "\tA/at man/nn\n")
    write(folder / "ca02", "\n\tHe/pps ran/vbd\n")
    write(folder / "ca01", "\tShe/pps sat/vbd\n")
    for name in ("cats.txt", "CONTENTS", "README", "Readme.md",
                 "LICENSE.txt", "package.json", "categories.pickle",
                 ".DS_Store"):  # fmt: skip
        write(folder / name, "not tagged text\n")
    (folder / "sub").mkdir()
    assert [p.name for p in tagged_files(folder)] == ["ca01", "ca02", "cb01"]
    assert tagged_format(folder) == "brown"
    sentences = read_tagged(str(folder), tagset="universal")
    assert [s.words for s in sentences] == [
        ("She", "sat"), ("He", "ran"), ("A", "man"),
    ]  # fmt: skip
    assert [s.tags for s in sentences] == [
        ("PRON", "VERB"), ("PRON", "VERB"), ("DET", "NOUN"),
    ]  # fmt: skip
    assert [(s.file, s.line) for s in sentences] == [
        (str(folder / "ca01"), 1),
        (str(folder / "ca02"), 2),
        (str(folder / "cb01"), 1),
    ]


def test_treebank_folder_reads_its_conllu_files(tmp_path):
    write(tmp_path / "x-ud-train.conllu", conllu(word("1", "Go", "VERB")))
    write(tmp_path / "x-ud-dev.conllu", conllu(word("1", "Hi", "INTJ")))
    write(tmp_path / "x-ud-train.txt", "Go\n")
    write(tmp_path / "README.md", "# UD X\n")
    assert [p.name for p in tagged_files(tmp_path)] == [
        "x-ud-dev.conllu", "x-ud-train.conllu",
    ]  # fmt: skip
    assert tagged_format(tmp_path) == "conllu"
    assert [s.words for s in read_tagged(tmp_path)] == [("Hi",), ("Go",)]
    # As Brown, its .conllu files are not among its corpus files.
    assert [p.name for p in tagged_files(tmp_path, "brown")] == [
        "x-ud-train.txt"
    ]


def test_a_file_is_its_own_corpus_file(brown):
    assert tagged_files(brown) == [brown]
    assert tagged_files(str(brown), "conllu") == [brown]


def test_folder_of_both_formats_has_no_one_format(tmp_path):
    write(tmp_path / "a.txt", conllu(word("1", "Go", "VERB")))
    write(tmp_path / "b.txt", "\tGo/vb\n")
    with pytest.raises(ValueError, match="both formats.*a.txt.*b.txt"):
        tagged_format(tmp_path)
    assert [s.tags for s in read_tagged(tmp_path)] == [("VERB",), ("vb",)]


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        ([word("1", "Go", "VERB")[:9]], 1, "expected 10 tab-separated"),
        (["1 Go go VERB _ _ 0 root _ _"], 1, "received 1"),
        (["# c", word("x", "Go", "VERB")], 2, r"ID .* received 'x'"),
        ([word("0", "Go", "VERB")], 1, "received '0'"),
        ([word("1.", "Go", "VERB")], 1, r"received '1\.'"),
        ([word("1", "", "VERB")], 1, "expected a FORM"),
        ([word("1", "Go", "")], 1, "UPOS"),
        (["# sent_id = 1", "# text =", "", word("1", "Go", "VERB")], 1,
         "no words"),
        ([token_range("1-2", "don't"), ""], 1, "no words"),
        ([word("1", "Go", "VERB"), "", "# sent_id = 2"], 3, "no words"),
    ],
)  # fmt: skip
def test_bad_conllu_names_file_and_line(tmp_path, lines, line, message):
    path = write(tmp_path / "bad.conllu", conllu(*lines))
    with pytest.raises(ValueError, match=where(path, line) + ".*" + message):
        read_tagged(path)


def test_conllu_that_is_not_utf8(tmp_path):
    text = conllu(word("1", "Go", "VERB"), "", word("1", "caf\xe9", "NOUN"))
    path = write(tmp_path / "bad.conllu", text, "latin-1")
    with pytest.raises(ValueError, match=where(path, 3) + ".*utf-8"):
        read_tagged(path)


@pytest.mark.parametrize(
    ("text", "line", "token"),
    [
        ("\tThe/at jury/nn\n\n\tThe/at jury said/vbd\n", 3, "'jury'"),
        ("\tThe/at /nn\n", 1, "'/nn'"),
        ("\tThe/at jury/\n", 1, "'jury/'"),
        ("\tThe/at //\n", 1, "'//'"),
    ],
)
def test_bad_brown_token_names_file_line_and_token(tmp_path, text, line, token):
    path = write(tmp_path / "ca01", text)
    with pytest.raises(ValueError, match=where(path, line) + ".*" + token):
        read_tagged(path, format="brown")


def test_unknown_tag_for_universal_names_file_and_line(tmp_path):
    brown = write(tmp_path / "ca01", "\tThe/at\n\tjury/zz\n")
    with pytest.raises(ValueError, match=where(brown, 2) + ".*'zz'"):
        read_tagged(brown, tagset="universal")
    assert read_tagged(brown)[1].tags == ("zz",)
    treebank = write(tmp_path / "a.conllu", conllu(word("1", "Go", "_")))
    with pytest.raises(ValueError, match=where(treebank, 1) + ".*'_'"):
        read_tagged(treebank, tagset="universal")


def test_files_of_neither_format_or_nothing(tmp_path):
    empty = write(tmp_path / "empty", "\n\n")
    with pytest.raises(ValueError, match=re.escape(f"{empty} is empty")):
        read_tagged(empty)
    with pytest.raises(ValueError, match="has no sentences"):
        read_tagged(empty, format="brown")
    prose = write(tmp_path / "prose", "\n Just some words.\n")
    with pytest.raises(ValueError, match=where(prose, 2) + ".*format"):
        tagged_format(prose)


def test_missing_paths_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere not found"):
        read_tagged(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no corpus files"):
        read_tagged(tmp_path)
    write(tmp_path / "README", "The Brown corpus\n")
    write(tmp_path / "cats.txt", "ca01 news\n")
    with pytest.raises(FileNotFoundError, match="no corpus files.*README"):
        tagged_format(tmp_path)


def test_bad_arguments(brown):
    with pytest.raises(ValueError, match="`format`.*'conll'"):
        read_tagged(brown, format="conll")
    with pytest.raises(ValueError, match="`tagset`.*'upos'"):
        read_tagged(brown, tagset="upos")
    with pytest.raises(ValueError, match="`format`"):
        tagged_files(brown, format="tsv")


def test_tagged_sentence_is_frozen_and_checks_lengths():
    sentence = TaggedSentence(("a",), ("at",), "f", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sentence.line = 2
    with pytest.raises(ValueError, match="f:7: expected one tag per word"):
        TaggedSentence(("a", "b"), ("at",), "f", 7)


def test_reads_a_large_brown_file_whole(tmp_path):
    # Speed is the benchmarks' (the full corpus reads in about a second);
    # here, that nothing is lost on a large file.
    line = "\t" + " ".join(["The/at jury/nn-tl said/vbd ./."] * 5) + "\n\n"
    path = write(tmp_path / "cz01", line * 10_000)  # 200,000 tokens
    sentences = read_tagged(path, tagset="universal")
    assert len(sentences) == 10_000
    assert sum(len(s.words) for s in sentences) == 200_000
    assert sentences[-1].tags[-4:] == ("DET", "NOUN", "VERB", ".")
    assert sentences[-1].line == 2 * 10_000 - 1
