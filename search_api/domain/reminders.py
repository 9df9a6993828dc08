"""Which dates of a record are worth a reminder, and how many days before them."""

from __future__ import annotations

from typing import Any

DEFAULT_DAYS: tuple[int, ...] = (14, 3)
MAX_DAYS = 365
MAX_OFFSETS = 5
DATE_FIELDS: dict[str, tuple[str, ...]] = {
    "requirement": ("comment_deadline", "effective_date"),
    "fair": ("registration_deadline", "start_date"),
    "finance": (),
}
"""Per record kind, the dates that reminders and calendars announce."""


def normalise_days(value: Any) -> list[int]:
    """What a subscriber asked: true (the defaults), false/None/[] (none) or a list of days
    before; raises ValueError saying what is allowed."""
    if value is None or value is False:
        return []
    if value is True:
        return list(DEFAULT_DAYS)
    if not isinstance(value, list | tuple):
        raise ValueError("true, false or a list of days before, e.g. [14, 3]")
    days: list[int] = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_DAYS:
            raise ValueError(f"each value is a number of days from 0 to {MAX_DAYS}")
        days.append(v)
    if len(set(days)) > MAX_OFFSETS:
        raise ValueError(f"at most {MAX_OFFSETS} different days")
    return sorted(set(days), reverse=True)


def parse_days(text: str | None) -> list[int]:
    """Days from a query parameter such as "14,3" (calendars' `remind`)."""
    if text is None or not text.strip():
        return []
    try:
        values = [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise ValueError("a comma-separated list of days, e.g. 14,3") from None
    return normalise_days(values)
