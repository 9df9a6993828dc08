"""A requirement document (PDF) as one record: title, full text, and the dates it states.

Pure: pypdf, no Scrapy, no network; never raises. Dates are found best effort: a date counts as
the publication, entry-into-force or comment-deadline date when a phrase saying so comes shortly
before it ("Published: 12 March 2026", "shall apply from 1 January 2027", "en vigueur le ...");
`found` says which were found and from what words, so a reviewer can check.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

from crawlers.normalise.dates import DateOrder, DateReading
from crawlers.normalise.text import clean_text
from crawlers.normalise.values import parse_hs

__all__ = ["PdfResult", "extract_pdf", "find_dates"]

MAX_PAGES = 500
MAX_TEXT = 2_000_000
SUMMARY_MAX = 600
TITLE_MAX = 300
# How far before a date its describing phrase may start.
_WINDOW = 90

_MONTH = (
    r"jan(?:uary|vier|\.)?|ene(?:ro)?|feb(?:ruary|rero|\.)?|f[ée]v(?:rier|r?\.)?|mar(?:ch|s|zo|\.)?|"
    r"apr(?:il|\.)?|avr(?:il|\.)?|abr(?:il)?|may(?:o)?|mai|june?|juin|jun(?:io)?|july?|juil(?:let|\.)?|"
    r"jul(?:io)?|aug(?:ust|\.)?|ao[uû]t|ago(?:sto)?|sept?(?:ember|embre|iembre|\.)?|set(?:iembre)?|"
    r"oct(?:ober|obre|ubre|\.)?|nov(?:ember|embre|iembre|\.)?|d[ée]c(?:ember|embre|\.)?|dic(?:iembre)?"
)
_DATE = re.compile(
    rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}[./]\d{{1,2}}[./]\d{{4}}\b|"
    rf"\b\d{{1,2}}(?:st|nd|rd|th|er|º)?\s+(?:de\s+)?(?:{_MONTH})\s+(?:de\s+)?\d{{4}}\b|"
    rf"\b(?:{_MONTH})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b",
    re.IGNORECASE,
)
_CUES = (
    (
        "comment_deadline",
        r"comments?|comment period|observations|observaciones|consultation|"
        r"date limite|fecha l[ií]mite|plazo",
    ),
    (
        "effective_date",
        r"effective|enters? into force|entered into force|entry into force|in force|"
        r"appl(?:y|ies|icable)(?: from| as of)?|shall apply|comes? into effect|"
        r"en vigueur|applicable (?:[àa] compter|a partir)|[àa] compter du|a partir del?|"
        r"entra(?:r[áa])? en vigor|vigencia|vigente",
    ),
    (
        "published_date",
        r"published|publication|date of issue|issued|dated|adopted|adoption|"
        r"publi[ée]e?|publicad[oa]|publicaci[óo]n|fecha|\bdate\s*:",
    ),
)
_CUE_RES = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in _CUES]
_HS_MENTION = re.compile(
    r"\b(?:HS|H\.S\.)\s*(?:codes?|headings?|sub-?headings?|chapters?|tariff lines?)?\s*[:#]?\s*"
    r"(\d{2}(?:\.?\d{2}){0,2}(?:\s*(?:,|;|and|or|et|y|&)\s*\d{2}(?:\.?\d{2}){0,2})*)",
    re.IGNORECASE,
)
_JUNK_TITLE = re.compile(
    r"^(?:untitled|microsoft (?:word|excel|powerpoint)\b.*|document\d*|.*\.(?:docx?|pdf|odt|rtf))$",
    re.IGNORECASE,
)


@dataclass
class PdfResult:
    record: dict[str, Any] | None
    errors: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    """ "published_date 2026-03-12 from 'Published: 12 March 2026'" per date found."""


def find_dates(text: str, order: DateOrder | None = None) -> tuple[dict[str, dt.date], list[str]]:
    """(field -> first date the text gives for it, descriptions of what was found).

    `order` is the source's `date_order`, how the document writes 03/04/2027."""
    dates, found, _ = _find_dates(text, DateReading(order))
    return dates, found


def _find_dates(text: str, reading: DateReading) -> tuple[dict[str, dt.date], list[str], list[str]]:
    """find_dates, and the dates of a field left out because they are not in the source's
    order."""
    dates: dict[str, dt.date] = {}
    found: list[str] = []
    problems: list[str] = []
    for match in _DATE.finditer(text):
        date, wrong_order = reading.read(match.group(0))
        if date is None and wrong_order is None:
            continue
        # the phrase must be in the same sentence: cut the window at the last full stop
        window = text[max(0, match.start() - _WINDOW) : match.start()]
        window = re.split(r"[.;]\s", window)[-1]
        best: tuple[int, int, str] | None = None
        for name, pattern in _CUE_RES:
            for cue in pattern.finditer(window):
                # the cue nearest to the date describes it
                if best is None or cue.end() > best[0]:
                    best = (cue.end(), cue.start(), name)
        if best is None or best[2] in dates:
            continue
        snippet = re.sub(r"\s+", " ", window[best[1] :] + match.group(0)).strip()
        if date is None:
            # A date in another order than the source's: said, and its field left to a later
            # date of the document rather than read in an order the source says is not its.
            problems.append(f"{best[2]}: {wrong_order} ({snippet!r}); left out")
            continue
        dates[best[2]] = date
        found.append(f"{best[2]} {date.isoformat()} from {snippet!r}")
    return dates, found, problems


def _hs_codes(text: str) -> list[str]:
    codes: list[str] = []
    for match in _HS_MENTION.finditer(text):
        found, _ = parse_hs(match.group(1))
        codes += [c for c in found if c not in codes]
    return codes


def _title(metadata_title: object, text: str) -> str | None:
    title = clean_text(metadata_title, TITLE_MAX) if metadata_title else None
    if title and not _JUNK_TITLE.match(title):
        return title
    for line in text.splitlines():
        line_text = clean_text(line, TITLE_MAX)
        if line_text:
            return line_text
    return None


def extract_pdf(
    body: bytes,
    url: str,
    kind: str = "requirement",
    *,
    reading: DateReading | None = None,
) -> PdfResult:
    """The document in `body` as record fields of `kind`, or errors saying why not.
    `reading` is the source's: how the document writes all-numeric dates."""
    if not body.lstrip()[:5].startswith(b"%PDF-"):
        start = body[:40].decode("latin-1", errors="replace")
        return PdfResult(None, [f"not a PDF document (starts with {start!r})"])
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(body), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return PdfResult(None, ["the PDF is encrypted with a password"])
        pages = []
        for page in reader.pages[:MAX_PAGES]:
            pages.append(page.extract_text() or "")
        metadata_title = reader.metadata.title if reader.metadata else None
    except Exception as exc:  # pypdf raises many types on damaged files
        return PdfResult(None, [f"not a readable PDF: {type(exc).__name__}: {exc}"])
    result = PdfResult(None)
    if len(reader.pages) > MAX_PAGES:
        result.errors.append(f"only the first {MAX_PAGES} of {len(reader.pages)} pages were read")
    raw_text = "\n".join(pages)[:MAX_TEXT]
    title = _title(metadata_title, raw_text)
    text = clean_text(raw_text)
    if not text:
        result.errors.append("no text in the PDF (a scanned document?); only its title is kept")
    if not title:
        result.errors.append("the PDF has neither a title nor any text")
        return result
    reading = reading or DateReading()
    dates, result.found, wrong_order = _find_dates(re.sub(r"[ \t]+", " ", raw_text), reading)
    # The document is still read: only the dates written in another order are left out.
    result.errors += wrong_order
    body_text = text or ""
    if body_text.startswith(title):
        body_text = body_text[len(title) :].strip()
    record: dict[str, Any] = {
        "title": title,
        "text": text,
        "summary": clean_text(body_text, SUMMARY_MAX),
        "url": url,
        "hs_codes": _hs_codes(raw_text),
    }
    if kind == "requirement":
        record.update(dates)
    elif "published_date" in dates:
        record["as_of"] = dates["published_date"]
    result.record = record
    return result
