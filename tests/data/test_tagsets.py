"""Brown and UPOS tags mapped to the 12 universal tags.

The Brown pairs are copied by hand from the published table of Petrov,
Das and McDonald (en-brown.map, github.com/slavpetrov/universal-pos-tags);
the UPOS ones from the reasoning in `keras_attn.data.tagsets`.
"""

import pytest

from keras_attn.data.tagsets import UNIVERSAL_TAGS
from keras_attn.data.tagsets import to_universal
from keras_attn.data.tagsets import universal_tags

# (Brown tag as in the corpus, its universal tag in en-brown.map).
BROWN_PUBLISHED = [
    ("at", "DET"),
    ("nn", "NOUN"),
    ("nn-tl", "NOUN"),
    ("nn-tl-hl", "NOUN"),
    ("np$", "NOUN"),
    ("cd$", "NOUN"),
    ("vbn-tl-hl", "VERB"),
    ("md", "VERB"),
    ("bedz*", "VERB"),
    ("hvz*", "VERB"),
    ("md+ppss", "VERB"),
    ("jj", "ADJ"),
    ("od", "ADJ"),
    ("ap", "ADJ"),
    ("ql", "ADV"),
    ("wrb", "ADV"),
    ("*", "ADV"),
    ("pp$$", "PRON"),
    ("wps", "PRON"),
    ("pp$", "DET"),
    ("abx", "DET"),
    ("wdt", "DET"),
    ("cs", "ADP"),
    ("in-tl", "ADP"),
    ("cd", "NUM"),
    ("cc", "CONJ"),
    ("to", "PRT"),
    ("ex", "PRT"),
    ("uh", "PRT"),
    ("rb$", "PRT"),
    ("jj$-tl", "PRT"),
    ("ppss+md", "PRT"),
    ("pps+bez", "PRT"),
    ("ppss+ber-n", "PRT"),
    (",", "."),
    (".", "."),
    (":", "."),
    ("--", "."),
    ("---hl", "."),
    ("(", "."),
    (")", "."),
    ("'", "."),
    ("''", "."),
    ("``", "."),
    ("nil", "X"),
    ("fw-in", "X"),
    ("fw-*-tl", "X"),
    ("fw-in+at-t", "X"),
    ("do+ppss", "X"),
    ("wdt+ber+pp", "X"),
]

# Every UPOS tag of UD v2 and the universal tag it was split from.
UPOS = {
    "ADJ": "ADJ",
    "ADP": "ADP",
    "ADV": "ADV",
    "AUX": "VERB",
    "CCONJ": "CONJ",
    "DET": "DET",
    "INTJ": "X",
    "NOUN": "NOUN",
    "NUM": "NUM",
    "PART": "PRT",
    "PRON": "PRON",
    "PROPN": "NOUN",
    "PUNCT": ".",
    "SCONJ": "ADP",
    "SYM": "X",
    "VERB": "VERB",
    "X": "X",
}


def test_the_twelve_universal_tags():
    assert len(UNIVERSAL_TAGS) == len(set(UNIVERSAL_TAGS)) == 12
    assert set(UNIVERSAL_TAGS) == set(UPOS.values()) | {"CONJ", "PRT"}


@pytest.mark.parametrize(("tag", "expected"), BROWN_PUBLISHED)
def test_brown_tags_map_as_published(tag, expected):
    assert to_universal(tag, "brown") == expected


def test_brown_tags_ignore_case():
    assert to_universal("NN-TL", "brown") == "NOUN"
    assert to_universal("Np$", "brown") == "NOUN"
    assert to_universal("PPSS+MD", "brown") == "PRT"


def test_brown_compound_the_table_lacks_takes_its_first_part():
    assert to_universal("vbn+in", "brown") == "VERB"
    assert to_universal("nn+vb", "brown") == "NOUN"
    assert to_universal("nn-tl+vb", "brown") == "NOUN"


def test_every_upos_tag_maps():
    assert len(UPOS) == 17
    for tag, expected in UPOS.items():
        assert to_universal(tag, "upos") == expected
        assert to_universal(tag.lower(), "upos") == expected


def test_universal_tags_maps_many_in_order():
    tags = ["at", "jj-tl", "nn-tl", "hvd", "vbn", "to", "vb", "."]
    assert universal_tags(tags, "brown") == [
        "DET", "ADJ", "NOUN", "VERB", "VERB", "PRT", "VERB", ".",
    ]  # fmt: skip
    assert universal_tags(("PROPN", "AUX", "SCONJ"), "upos") == [
        "NOUN", "VERB", "ADP",
    ]  # fmt: skip
    assert universal_tags([], "upos") == []


@pytest.mark.parametrize(
    ("tag", "source"),
    [
        ("xyz", "brown"),
        ("nn-zz", "brown"),
        ("fw-xyz", "brown"),
        ("fw-", "brown"),
        ("-tl", "brown"),
        ("", "brown"),
        ("xyz+nn", "brown"),
        ("NNP", "upos"),
        ("_", "upos"),
        ("nn", "upos"),
        ("PROPN", "brown"),
    ],
)
def test_unknown_tags_raise_naming_tag_source_and_expected(tag, source):
    with pytest.raises(ValueError, match=f"unknown {source} tag") as error:
        to_universal(tag, source)
    assert repr(tag) in str(error.value)
    assert "expected" in str(error.value)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="unknown"):
        universal_tags(["nn" if source == "brown" else "NOUN", tag], source)


def test_bad_source_and_tag_type_raise():
    with pytest.raises(ValueError, match=r"`source`.*'penn'"):
        to_universal("NN", "penn")
    with pytest.raises(ValueError, match="`source`"):
        universal_tags(["NN"], "ptb")
    with pytest.raises(TypeError, match="str"):
        to_universal(None, "brown")
    with pytest.raises(TypeError, match="str"):
        universal_tags(["nn", 3], "brown")
