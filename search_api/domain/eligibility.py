"""Who may use a finance programme, said in words before any list of codes: "open to
exporters from Kenya", "from all 54 African countries, including Kenya".

`describe` reads a programme's eligible exporter countries (ISO codes and bloc codes) against
the exporter's country; `summary` says it in English, French or Spanish.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from babel.lists import format_list

from search_api.domain import markets as mk
from search_api.domain.i18n import DEFAULT_LANGUAGE, N_, gettext
from search_api.domain.vocab import BLOCS, COUNTRY_GROUPS

MAX_NAMED = 4
"""Most countries a summary names one by one; beyond, it counts them."""

GROUP_PHRASES_FILE = Path(__file__).resolve().parent / "data" / "group_phrases.yml"
"""Each bloc and country group as it follows "members" in each language ("of the European
Union", "de l'Union européenne", "de la Unión Europea"): data, with its sources."""

ANY = N_("Open to exporters from any country")
NAMED = N_("Open to exporters from %(countries)s")
# %(of_group)s is the group with its preposition and article in the sentence's language
# (data/group_phrases.yml): "of the European Union", "de l'Union européenne", "del Mercosur".
GROUP_ALL = N_("Open to exporters from all %(count)s members %(of_group)s")
GROUP_ALL_WITH = N_(
    "Open to exporters from all %(count)s members %(of_group)s, including %(origin)s"
)
AFRICA_ALL = N_("Open to exporters from all %(count)s African countries")
AFRICA_ALL_WITH = N_("Open to exporters from all %(count)s African countries, including %(origin)s")
COUNTED = N_("Open to exporters from %(count)s countries")
COUNTED_WITH = N_("Open to exporters from %(origin)s and %(count)s other countries")
NOT_OPEN = N_("Not open to exporters from %(origin)s")


@cache
def group_phrases() -> dict[str, dict[str, str]]:
    """data/group_phrases.yml: {group code: {language: phrase}}."""
    raw = yaml.safe_load(GROUP_PHRASES_FILE.read_text(encoding="utf-8"))
    return {str(code): {str(k): str(v) for k, v in forms.items()} for code, forms in raw.items()}


def of_group(group: str, lang: str) -> str:
    """A bloc or group as it follows "members" in `lang` ("de la CEDEAO"); English where the
    data has no phrase in `lang` (the completeness test keeps that from happening)."""
    forms = group_phrases().get(group, {})
    return forms.get(lang) or forms.get(DEFAULT_LANGUAGE) or f"of {mk.market_name(group, lang)}"


def countries(codes: Iterable[str]) -> list[str]:
    """The countries a list of country and bloc codes names (blocs by their members)."""
    out: dict[str, None] = {}
    for code in codes:
        for c in BLOCS.get(code, (code,)):
            out.setdefault(c, None)
    return list(out)


def _group(found: set[str]) -> str | None:
    """The known group (a bloc or a vocab.COUNTRY_GROUPS entry) whose members are exactly
    these countries."""
    for code, members in (*BLOCS.items(), *COUNTRY_GROUPS.items()):
        if len(members) > 1 and set(members) == found:
            return code
    return None


def describe(codes: Iterable[str], origin: str | None = None) -> dict[str, Any]:
    """{"any": no restriction, "count": countries, "group": the known group they make up (a
    bloc code, AFRICA or AFRICAN_UNION) or None, "origin", "origin_eligible": whether
    exporters from `origin` may apply (None without an origin)}."""
    found = countries(codes)
    group = _group(set(found)) if found else None
    return {
        "any": not found,
        "count": len(found),
        "group": group,
        "origin": origin,
        "origin_eligible": (not found or origin in found) if origin else None,
        "named": found if len(found) <= MAX_NAMED else [],
    }


def summary(lang: str, info: dict[str, Any]) -> str:
    """`describe`'s answer as a sentence in `lang`."""
    origin = info.get("origin")
    origin_name = mk.market_name(origin, lang) if origin else ""
    if info["any"]:
        return gettext(lang, ANY)
    if origin and not info["origin_eligible"]:
        return gettext(lang, NOT_OPEN, origin=origin_name)
    count, group = info["count"], info.get("group")
    with_origin = bool(origin)
    if group == "AFRICA":
        msg = AFRICA_ALL_WITH if with_origin else AFRICA_ALL
        return gettext(lang, msg, count=count, origin=origin_name)
    if group:
        msg = GROUP_ALL_WITH if with_origin else GROUP_ALL
        return gettext(lang, msg, count=count, of_group=of_group(group, lang), origin=origin_name)
    if info["named"]:
        named = list(info["named"])
        if origin in named:  # the reader's country first
            named.remove(origin)
            named.insert(0, origin)
        names = [mk.market_name(c, lang) for c in named]
        return gettext(lang, NAMED, countries=format_list(names, locale=lang))
    if with_origin:
        return gettext(lang, COUNTED_WITH, origin=origin_name, count=count - 1)
    return gettext(lang, COUNTED, count=count)


def annotate(item: dict[str, Any], origin: str | None, lang: str = "en") -> None:
    """Add `eligibility` (describe) and `eligibility_summary` (in `lang`) to a finance
    item (a record as JSON); other kinds are left alone."""
    if item.get("kind") != "finance":
        return
    info = describe(item.get("eligible_exporter_countries") or [], origin)
    item["eligibility"] = info
    item["eligibility_summary"] = summary(lang, info)
