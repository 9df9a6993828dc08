"""Accent folding, shared by every lookup that must match what people type ("Cote d'Ivoire",
"Francais", "pre-shipment") against names written with accents."""

from __future__ import annotations

import unicodedata


def fold_accents(text: str) -> str:
    """casefold, then drop combining marks: "Côte-d'Ivoire" -> "cote-d'ivoire"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
