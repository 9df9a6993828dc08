"""When has an official page changed materially? Its main text, compared with the text the
record was checked against.

"Materially" is measured on the page's main text (boilerplate, menus and footers left out by
the extractor), normalised (case, spacing and punctuation folded, so a reflowed paragraph or a
curly quote is no change), as the similarity of the two word sequences (difflib's ratio: twice
the matching words over all words, found sentence by sentence and then word by word inside
the sentences that differ). Below `MATERIAL_SIMILARITY` the page changed materially: a
rewritten paragraph, a new condition, a changed amount or date in a short page. A changed date
stamp, a cookie line or a typo on a long page is not. Numbers are kept: "USD 1 million" to
"USD 2 million" is a different word.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata

MATERIAL_SIMILARITY = 0.95
"""Word-sequence similarity under which a page counts as changed (1.0: identical)."""
MAX_WORDS = 20_000
"""Words compared per page: enough for any programme page, bounded for huge ones."""

_WORD = re.compile(r"[^\W_]+(?:[.,'][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    """The text's words, case-folded and NFKC-normalised (punctuation and spacing dropped)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(folded)[:MAX_WORDS]


def normalised(text: str) -> str:
    return " ".join(words(text))


def fingerprint(text: str) -> str:
    """A hash of the normalised text: equal fingerprints, no change at all."""
    return hashlib.sha256(normalised(text).encode()).hexdigest()


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def _sentences(text: str) -> list[tuple[str, ...]]:
    """The text's words (as `words`), grouped by sentence."""
    out: list[tuple[str, ...]] = []
    budget = MAX_WORDS
    for part in _SENTENCE_END.split(unicodedata.normalize("NFKC", text).casefold()):
        found = tuple(_WORD.findall(part)[:budget])
        if found:
            out.append(found)
            budget -= len(found)
            if budget <= 0:
                break
    return out


def similarity(before: str, after: str) -> float:
    """0.0 (nothing in common) to 1.0 (the same words in the same order): twice the words
    the two texts share in order over all their words.

    Compared sentence by sentence first, then word by word only inside the sentences that
    differ: difflib over 20,000 words a page took minutes on a long, lightly edited page
    (its cost grows with the square of the words), over sentences it takes milliseconds, and
    the words of the differing sentences are few."""
    a, b = _sentences(before), _sentences(after)
    size = sum(map(len, a)) + sum(map(len, b))
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    shared = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            shared += sum(len(s) for s in a[i1:i2])
        elif tag == "replace":
            old = [w for s in a[i1:i2] for w in s]
            new = [w for s in b[j1:j2] for w in s]
            blocks = difflib.SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks()
            shared += sum(block.size for block in blocks)
    return 2 * shared / size


def changed_materially(before: str, after: str) -> tuple[bool, float]:
    score = similarity(before, after)
    return score < MATERIAL_SIMILARITY, score
