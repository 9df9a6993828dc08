"""Cron schedules of sources (5-field crontab, UTC), checked when a source is saved.

The scheduler runs them with APScheduler 3's CronTrigger, which search_api may not import (the
import contracts in pyproject.toml keep the scheduler library out of the service). So the
grammar APScheduler accepts is written out here once: every entry point (API, agency form,
`sources add/import`, curated files) validates through `SourceSpec`, which calls `parse_cron`,
and schedules/jobs.py builds its triggers from `parse_cron`'s fields. No library does this
check without being a second, different cron parser (croniter accepts `L`, `#`, seconds...);
tests/security/test_cron_schedules.py proves on generated expressions that this accepts
exactly what APScheduler accepts.

Two deliberate differences from APScheduler, both stricter: a part APScheduler reads only a
prefix of is refused (it takes `jan-feb/2` as `jan-feb`, `mon-5` as `mon`, `lastx` as `last`),
and only ASCII digits are numbers. Day of week counts like cron (0 and 7 are Sunday), not
like APScheduler (0 is Monday): numbers become day names for the trigger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # APScheduler's order
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # cron's numbers

_ALL = re.compile(r"\*(?:/(?P<step>[0-9]+))?")
_RANGE = re.compile(r"(?P<first>[0-9]+)(?:-(?P<last>[0-9]+))?(?:/(?P<step>[0-9]+))?")
_NAMES = re.compile(r"(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))?", re.IGNORECASE)

# name, APScheduler's bounds
_NUMERIC = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12))


@dataclass(frozen=True)
class CronFields:
    """A valid schedule in APScheduler's terms (CronTrigger's keyword arguments)."""

    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str


def parse_cron(expr: str) -> CronFields:
    """The fields of a 5-field crontab expression; ValueError naming the field otherwise."""
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError(
            f"cron expression {expr!r} must have 5 fields (minute hour day month weekday)"
        )
    for (name, lo, hi), value in zip(_NUMERIC, parts[:4], strict=True):
        for part in value.split(","):
            problem = _check_part(part, name, lo, hi)
            if problem:
                raise ValueError(f"cron expression {expr!r}: {name} {part!r} {problem}")
    return CronFields(
        minute=parts[0],
        hour=parts[1],
        day=parts[2],
        month=parts[3],
        day_of_week=day_of_week(parts[4], expr),
    )


def _check_part(part: str, name: str, lo: int, hi: int) -> str | None:
    """What is wrong with one comma-separated part, as APScheduler's field compilers judge."""
    if m := _ALL.fullmatch(part):
        return _step_problem(m["step"], hi - lo)
    if m := _RANGE.fullmatch(part):
        first, last = int(m["first"]), m["last"]
        step = m["step"]
        if step is not None and int(step) == 0:
            return "has a step of 0"
        last_n = int(last) if last is not None else (first if step is None else None)
        if last_n is not None and first > last_n:
            return "is a range whose start is after its end"
        if first < lo:
            return f"is below {lo} (allowed: {lo}-{hi})"
        if last_n is not None and last_n > hi:
            return f"is above {hi} (allowed: {lo}-{hi})"
        # APScheduler's own arithmetic, `last or max` included
        return _step_problem(step, (last_n or hi) - first)
    if name == "day of month" and part.lower() == "last":
        return None
    if name == "month" and (m := _NAMES.fullmatch(part)):
        return _names_problem(m["first"], m["last"], MONTHS, "month")
    return "is not a number, a range (1-5), a step (*/15) or a list of them"


def _step_problem(step: str | None, spread: int) -> str | None:
    if step is None:
        return None
    if int(step) == 0:
        return "has a step of 0"
    if int(step) > spread:
        return f"has a step ({step}) larger than its range ({spread})"
    return None


def _names_problem(first: str, last: str | None, names: tuple[str, ...], what: str) -> str | None:
    for name in (first, last):
        if name is not None and name.lower() not in names:
            return f"is not a {what} name ({', '.join(names)})"
    if last is not None and names.index(first.lower()) > names.index(last.lower()):
        return "is a range whose start is after its end"
    return None


def day_of_week(value: str, expr: str | None = None) -> str:
    """A crontab day-of-week field in APScheduler's terms.

    APScheduler 3 counts weekdays from Monday = 0 while cron counts from Sunday = 0 (its
    `from_crontab` keeps that mismatch for compatibility), so "0 4 * * 1" would run on
    Tuesdays. Numbers, ranges and steps become explicit day names; names and `*` pass through.
    """
    where = f"cron expression {expr!r}: " if expr is not None else ""
    out: list[str] = []
    for part in value.lower().split(","):
        if part == "*":
            out.append(part)
            continue
        if m := _NAMES.fullmatch(part):
            problem = _names_problem(m["first"], m["last"], WEEKDAYS, "weekday")
            if problem:
                raise ValueError(f"{where}day of week {part!r} {problem}")
            out.append(part)
            continue
        all_ = _ALL.fullmatch(part)
        range_ = _RANGE.fullmatch(part)
        if not (all_ or range_):
            raise ValueError(
                f"{where}day of week {part!r} is not a number 0-7 (0 and 7 are Sunday), a day "
                "name (mon-sun), a range or a step"
            )
        step = int((all_ or range_)["step"] or 1)  # type: ignore[index]
        if range_:
            lo = int(range_["first"])
            hi = int(range_["last"]) if range_["last"] else (6 if range_["step"] else lo)
        else:
            lo, hi = 0, 6
        if not (0 <= lo <= 7 and 0 <= hi <= 7 and lo <= hi and step >= 1):
            raise ValueError(f"{where}day of week {part!r} is out of range 0-7")
        for day in range(lo, hi + 1, step):
            name = _CRON_DAYS[day]
            if name not in out:
                out.append(name)
    return ",".join(out)
