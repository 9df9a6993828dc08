"""Definite articles before market names, where a sentence needs one: "Exporter vers la
France", "Exportar al Mercosur"."""

from __future__ import annotations

# French puts an article before most country names ("vers la France", "vers le Kenya"); these
# are the usual exceptions to "feminine when it ends in -e".
_FR_NO_ARTICLE = frozenset(
    [
        "Bahreïn",
        "Chypre",
        "Cuba",
        "Djibouti",
        "Haïti",
        "Israël",
        "Macao",
        "Madagascar",
        "Malte",
        "Maurice",
        "Monaco",
        "Nauru",
        "Oman",
        "Singapour",
        "Taïwan",
        "Tuvalu",
        "Kiribati",
    ]
)
_FR_MASCULINE_E = frozenset(["Belize", "Cambodge", "Mexique", "Mozambique", "Suriname", "Zimbabwe"])
_FR_SINGULAR_S = frozenset(["Honduras", "Laos", "Bélarus"])


def french(name: str) -> str:
    """`name` with its French definite article: "la France", "l'Allemagne", "les Pays-Bas"."""
    head = name.split(",")[0].split(" ")[0]
    if head in _FR_NO_ARTICLE or head.startswith(("Saint", "Hong", "Trinité", "Sao")):
        return name
    if (head.endswith("s") and head not in _FR_SINGULAR_S) or head.startswith("Îles"):
        return f"les {name}"
    if head[:1].upper() in "AEIOUÉÈÊÎÏÔÛÜY":
        return f"l\u2019{name}"
    feminine = head.endswith(("e", "ion", "té")) and head not in _FR_MASCULINE_E
    return f"{'la' if feminine else 'le'} {name}"


def spanish_bloc(name: str) -> str:
    """Blocs take an article in Spanish ("la Unión Europea", "el Mercosur"); countries do not."""
    head = name.split(" ")[0]
    return f"{'la' if head.endswith(('a', 'ión', 'dad')) else 'el'} {name}"
