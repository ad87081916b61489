"""Part-of-speech tags mapped to the 12 universal tags of Petrov et al.

`to_universal` (one tag) and `universal_tags` (many) map the tags of the
Brown corpus (`source="brown"`) and the 17 UPOS tags of Universal
Dependencies (`source="upos"`) to `UNIVERSAL_TAGS`, so that a tagger
trained on one corpus is scored like one trained on another. Standard
library only.

Brown: the facts are those of the published table `en-brown.map` of
github.com/slavpetrov/universal-pos-tags (the table NLTK uses for
`brown.tagged_words(tagset="universal")`), written here as one group of
base tags per universal tag. The table lists 472 tags, every tag of the
Brown corpus as NLTK ships it, suffixes and all; here a tag is reduced
to its base before the lookup, which gives the table's answer for every
one of the 472 (checked against the file, 2026-12):

- the suffixes `-tl` (in a title), `-hl` (in a headline) and `-nc`
  (cited), possibly stacked (`nn-tl-hl`), are dropped: the table never
  maps a suffixed tag other than its base;
- `fw-` (a foreign word, `fw-in`, `fw-nn-tl`) gives `X`, whatever
  follows, as in the table (every one of its 80 `fw-` tags is `X`);
  the rest must still be a Brown tag;
- compound tags of contractions (`ppss+md` "I'll", `pps+bez` "it's",
  `md+ppss` "shall we") are listed as the table has them: a pronoun,
  noun, determiner or adverb fused with a verb is `PRT` (as in the
  table; not the first part's tag), a verb fused with what follows is
  `VERB`; `do+ppss`, `wdt+ber+pp` and `wdt+do+pps` are `X`. A compound
  the table lacks takes the tag of its first part (`vbn+in` is `VERB`).

UPOS: Universal Dependencies built its 17 UPOS tags by revising and
extending the Google universal tagset of Petrov et al. (the UD
guidelines, universaldependencies.org/u/pos/, and Nivre et al. 2016),
so each UPOS tag goes back to the tag it was split from: PROPN (split
from NOUN) to NOUN, AUX to VERB, CCONJ (UD v1's CONJ) to CONJ, PART to
PRT, PUNCT to `.`, SYM and INTJ to X (Petrov's X is "other"), and SCONJ
to ADP, as Petrov's Penn Treebank table sends IN (prepositions and
subordinating conjunctions alike) to ADP and his Brown table sends
`cs` there.

References:
    Slav Petrov, Dipanjan Das and Ryan McDonald. A Universal
    Part-of-Speech Tagset. LREC 2012. arXiv:1104.2086.
    Joakim Nivre et al. Universal Dependencies v1: A Multilingual
    Treebank Collection. LREC 2016.
"""

import functools

# The 12 tags of Petrov, Das and McDonald (2012), in their order.
UNIVERSAL_TAGS = (
    "NOUN", "VERB", "ADJ", "ADV", "PRON", "DET",
    "ADP", "NUM", "CONJ", "PRT", ".", "X",
)  # fmt: skip
SOURCES = ("brown", "upos")

# Brown base tags (lowercase, as in the corpus) by universal tag. The
# suffixes -tl, -hl and -nc and the prefix fw- are handled by
# `_brown_universal`; `*` is the negation "not" (and "n't"); a `*` after
# a verb tag is a negated form ("didn't" is dod*).
_BROWN_GROUPS = {
    "NOUN": (
        "nn nn$ nns nns$ np np$ nps nps$ nr nr$ nrs pn pn$ cd$ nn+in nn+nn"
    ),
    "VERB": (
        "vb vbd vbg vbn vbz md md* "
        "be bed bed* bedz bedz* beg bem bem* ben ber ber* bez bez* "
        "do do* dod dod* doz doz* hv hv* hvd hvd* hvg hvn hvz hvz* "
        "hv+to md+hv md+ppss md+to vb+at vb+in vb+jj vb+ppo vb+rp "
        "vb+to vb+vb vbg+to vbn+to"
    ),
    "ADJ": "jj jjr jjs jjt ap od ap+ap jj+jj jjr+cs",
    "ADV": "rb rbr rbt rn ql qlp wql wrb * rb+cs rbr+cs",
    "PRON": "ppl ppls ppo pps ppss pp$$ wpo wps",
    "DET": "at abx dt dt$ dti dts dtx pp$ wdt wp$",
    "ADP": "in cs in+in in+ppo",
    "NUM": "cd",
    "CONJ": "cc",
    "PRT": (
        "to rp ex abl abn ap$ jj$ rb$ uh "
        "to+vb rp+in ex+bez ex+hvd ex+hvz ex+md "
        "dt+bez dt+md dts+bez nn+bez nn+hvd nn+hvz nn+md nns+md "
        "np+bez np+hvz np+md nr+md pn+bez pn+hvd pn+hvz pn+md "
        "pps+bez pps+hvd pps+hvz pps+md ppss+bem ppss+ber ppss+bez "
        "ppss+bez* ppss+hv ppss+hvd ppss+md ppss+vb rb+bez "
        "wdt+ber wdt+bez wdt+dod wdt+hvz wps+bez wps+hvd wps+hvz "
        "wps+md wrb+ber wrb+bez wrb+do wrb+dod wrb+dod* wrb+doz "
        "wrb+in wrb+md "
        # Cut short in the corpus files (ppss+ber-nc), as in the table.
        "ppss+ber-n"
    ),
    ".": ". , : ( ) -- ' '' ``",
    "X": "nil do+ppss wdt+ber+pp wdt+do+pps",
}
_BROWN = {
    tag: universal
    for universal, tags in _BROWN_GROUPS.items()
    for tag in tags.split()
}
_BROWN_SUFFIXES = ("-tl", "-hl", "-nc")
_FOREIGN = "fw-"

# UPOS (Universal Dependencies v2) -> universal tag; see the module
# docstring for the reasons.
_UPOS = {
    "NOUN": "NOUN",
    "PROPN": "NOUN",
    "VERB": "VERB",
    "AUX": "VERB",
    "ADJ": "ADJ",
    "ADV": "ADV",
    "PRON": "PRON",
    "DET": "DET",
    "ADP": "ADP",
    "SCONJ": "ADP",
    "CCONJ": "CONJ",
    "NUM": "NUM",
    "PART": "PRT",
    "PUNCT": ".",
    "SYM": "X",
    "INTJ": "X",
    "X": "X",
}


def _strip_suffixes(tag):
    """`tag` without its trailing -tl, -hl and -nc (stacked or not)."""
    while True:
        for suffix in _BROWN_SUFFIXES:
            if tag.endswith(suffix) and len(tag) > len(suffix):
                tag = tag[: -len(suffix)]
                break
        else:
            return tag


def _brown_universal(tag):
    """The universal tag of a lowercase Brown tag, or None."""
    base = _strip_suffixes(tag)
    foreign = base.startswith(_FOREIGN) and len(base) > len(_FOREIGN)
    if foreign:
        base = _strip_suffixes(base[len(_FOREIGN) :])
    universal = _BROWN.get(base)
    if universal is None and "+" in base:
        # A compound the table lacks: the tag of its first part.
        universal = _BROWN.get(_strip_suffixes(base.partition("+")[0]))
    if universal is None:
        return None
    return "X" if foreign else universal


@functools.lru_cache(maxsize=4096)
def _universal(tag, source):
    if source == "brown":
        universal = _brown_universal(tag.lower())
        expected = (
            "a Brown corpus tag such as 'nn', 'np-tl', 'fw-in' or 'ppss+md'"
        )
    else:
        universal = _UPOS.get(tag.upper())
        expected = f"one of the 17 UPOS tags {sorted(_UPOS)}"
    if universal is None:
        raise ValueError(f"unknown {source} tag {tag!r}; expected {expected}.")
    return universal


def _check_source(source):
    if source not in SOURCES:
        raise ValueError(
            f"`source` must be one of {list(SOURCES)}; received {source!r}."
        )


def to_universal(tag, source):
    """The universal tag (one of `UNIVERSAL_TAGS`) of one tag.

    Brown tags follow Petrov et al.'s published table (suffixes `-tl`,
    `-hl`, `-nc` dropped; `fw-` tags are `X`; contractions such as
    `ppss+md` are `PRT`); UPOS tags go back to the tag they were split
    from (PROPN to NOUN, AUX to VERB, SCONJ to ADP, ...). The module
    docstring gives the rules and references. Case does not matter.

    Args:
        tag: str. A Brown tag (`"nn-tl"`, `"ppss+md"`) or a UPOS tag
            (`"PROPN"`).
        source: str. `"brown"` or `"upos"`: the tagset of `tag`.

    Returns:
        str: one of `UNIVERSAL_TAGS`.

    Raises:
        ValueError: `source` is not one of the two, or `tag` is not a
            tag of it (the message names the tag, the source and what
            was expected).
        TypeError: `tag` is not a str.

    Example:

    >>> to_universal("np-tl", "brown"), to_universal("fw-in", "brown")
    ('NOUN', 'X')
    >>> to_universal("ppss+md", "brown"), to_universal("SCONJ", "upos")
    ('PRT', 'ADP')
    """
    _check_source(source)
    if not isinstance(tag, str):
        raise TypeError(
            f"`tag` must be a str; received {type(tag).__name__} {tag!r}."
        )
    return _universal(tag, source)


def universal_tags(tags, source):
    """The universal tags of many tags of one source, in order.

    Args:
        tags: iterable of str. Brown or UPOS tags (see `to_universal`).
        source: str. `"brown"` or `"upos"`.

    Returns:
        list of str, each one of `UNIVERSAL_TAGS`, one per tag.

    Raises:
        ValueError: as `to_universal`, for the first tag it does not
            know.

    Example:

    >>> universal_tags(["at", "jj", "nn", "vbd", "."], "brown")
    ['DET', 'ADJ', 'NOUN', 'VERB', '.']
    >>> universal_tags(["PRON", "AUX", "PART", "VERB"], "upos")
    ['PRON', 'VERB', 'PRT', 'VERB']
    """
    _check_source(source)
    result = []
    for tag in tags:
        if not isinstance(tag, str):
            raise TypeError(
                f"every tag must be a str; received {type(tag).__name__} "
                f"{tag!r}."
            )
        result.append(_universal(tag, source))
    return result


__all__ = ["SOURCES", "UNIVERSAL_TAGS", "to_universal", "universal_tags"]
