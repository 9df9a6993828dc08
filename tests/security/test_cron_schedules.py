"""Class: schedules the scheduler cannot run. A source's cron expression is checked when the
source is saved, at every entry (API 4xx naming the field, agency form error, `sources add`
exit 2 with one line), by the one validator the scheduler also builds its triggers from
(search_api/domain/cron.py), and that validator accepts exactly what APScheduler accepts."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.cron.fields import DayOfMonthField, DayOfWeekField, MonthField
from fastapi.testclient import TestClient
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from schedules.jobs import cron_trigger
from search_api.domain.cron import parse_cron
from search_api.domain.sources import parse_source
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.agency import sign_in, token

BAD = ["a b c d e", "99 99 99 99 99", "61 4 * * 1", "0 4 * * 8", "0 25 * * *", "0 4 32 * *"]
BAD += ["0 4 * 13 *", "*/0 * * * *", "0 4 * * mon-5", "0 4 * jan-feb/2 *", "0 4 * * funday"]
BAD += ["5-1 * * * *", "0 4 * *", "0 4 * * * *", "0 4 lastx * *", "0 4 ٣ * *"]
GOOD = ["0 4 * * 1", "*/15 * * * *", "0 4 1,15 * *", "0 4 * * 7", "0 4 * * 0-7", "0 4 last * *"]
GOOD += ["30 2 * jan-mar mon-fri", "0 0 1 */3 *", "0 4 * * SAT,1"]


def spec(schedule: str) -> dict[str, object]:
    return {
        "id": "xx_cron",
        "name": "Cron",
        "kind": "fair",
        "format": "ical",
        "start_urls": ["https://example.org/x.ics"],
        "schedule": schedule,
    }


@pytest.mark.parametrize("expr", BAD)
def test_the_domain_refuses_what_the_scheduler_cannot_run(expr: str) -> None:
    with pytest.raises(ValueError, match=r"schedule|cron expression"):
        parse_source(spec(expr))
    with pytest.raises(ValueError):
        cron_trigger(expr)


@pytest.mark.parametrize("expr", GOOD)
def test_valid_schedules_are_kept_and_run(expr: str) -> None:
    assert parse_source(spec(expr)).schedule == expr
    assert cron_trigger(expr).get_next_fire_time(None, datetime.now(UTC)) is not None


@pytest.mark.parametrize("expr", ["a b c d e", "61 4 * * 1", "0 4 * * 8", "0 25 * * *"])
def test_the_api_answers_422_naming_the_schedule(
    client: TestClient, store: Store, expr: str
) -> None:
    key = create_key(store, "agency_a", "agency")
    r = client.post("/api/v1/sources", json=spec(expr), headers={"Authorization": f"Bearer {key}"})
    assert 400 <= r.status_code < 500, r.text
    message = r.json()["error"]["message"]
    assert "schedule" in message
    assert store.list_sources() == []


@pytest.mark.parametrize("expr", ["a b c d e", "99 99 99 99 99", "0 4 * * 8"])
def test_the_agency_form_shows_the_error(client: TestClient, store: Store, expr: str) -> None:
    sign_in(client, create_key(store, "agency_a", "agency"))
    csrf = token(client, "/agency/sources/new")
    text = "\n".join(
        f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in spec(expr).items()
    ).replace("['https://example.org/x.ics']", "[https://example.org/x.ics]")
    r = client.post(
        "/agency/sources/new", data={"csrf_token": csrf, "spec": text, "action": "save"}
    )
    assert 400 <= r.status_code < 500
    assert "schedule" in r.text
    assert store.list_sources() == []


@pytest.mark.parametrize("expr", ["99 99 99 99 99", "a b c d e", "0 4 * * 8"])
def test_sources_add_exits_2_with_one_line(settings: Settings, tmp_path: Path, expr: str) -> None:
    path = tmp_path / "source.yml"
    path.write_text(
        "id: xx_cron\nname: Cron\nkind: fair\nformat: ical\n"
        f"start_urls: [https://example.org/x.ics]\nschedule: '{expr}'\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "search_api.cli", "sources", "add", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    assert "schedule" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ the same as APScheduler

NUMBER = st.integers(0, 99).map(str) | st.sampled_from(["00", "07", "60", "61", "1000"])
NAME = st.sampled_from(["jan", "Mar", "dec", "mon", "FRI", "sun", "last", "foo", "x"])
ATOM = st.one_of(
    st.just("*"),
    st.builds(lambda s: f"*/{s}", NUMBER),
    NUMBER,
    st.builds(lambda a, b: f"{a}-{b}", NUMBER, NUMBER),
    st.builds(lambda a, s: f"{a}/{s}", NUMBER, NUMBER),
    st.builds(lambda a, b, s: f"{a}-{b}/{s}", NUMBER, NUMBER, NUMBER),
    NAME,
    st.builds(lambda a, b: f"{a}-{b}", NAME, NAME),
    st.text(alphabet="abcejmnlst0123456789*-/,", min_size=0, max_size=6),
)
FIELD = st.lists(ATOM, min_size=1, max_size=3).map(",".join)


def _prefix_only(field: str, compilers: list[type]) -> bool:
    """APScheduler reads a part it only matches a prefix of (`jan-feb/2` as `jan-feb`): the one
    place the domain is stricter on purpose (domain/cron.py)."""
    for part in field.split(","):
        matches = [c.value_re.match(part) for c in compilers]
        if any(m and m.end() < len(part) for m in matches) and not any(
            c.value_re.fullmatch(part) for c in compilers
        ):
            return True
    return False


def _aps_accepts(**fields: str) -> bool:
    try:
        CronTrigger(**fields)
    except ValueError:
        return False
    return True


def _domain_accepts(expr: str) -> bool:
    try:
        parse_cron(expr)
    except ValueError:
        return False
    return True


@settings(max_examples=600, deadline=None)
@given(minute=FIELD, hour=FIELD, day=FIELD, month=FIELD)
@example(minute="61", hour="4", day="*", month="*")
@example(minute="0-0/30", hour="*", day="*", month="*")  # APScheduler's `last or max`
@example(minute="0", hour="*/23", day="last", month="jan-dec")
def test_minute_to_month_accept_exactly_what_apscheduler_accepts(
    minute: str, hour: str, day: str, month: str
) -> None:
    assume(not _prefix_only(day, DayOfMonthField.COMPILERS))
    assume(not _prefix_only(month, MonthField.COMPILERS))
    expected = _aps_accepts(minute=minute, hour=hour, day=day, month=month)
    assert _domain_accepts(f"{minute} {hour} {day} {month} *") == expected


WEEKDAY_NAME = st.sampled_from(["mon", "Tue", "wed", "thu", "fri", "sat", "SUN", "jan", "x"])
WEEKDAY_FIELD = st.lists(
    WEEKDAY_NAME | st.builds(lambda a, b: f"{a}-{b}", WEEKDAY_NAME, WEEKDAY_NAME) | st.just("*"),
    min_size=1,
    max_size=3,
).map(",".join)


@settings(max_examples=300, deadline=None)
@given(dow=WEEKDAY_FIELD)
def test_weekday_names_accept_exactly_what_apscheduler_accepts(dow: str) -> None:
    assert _domain_accepts(f"0 4 * * {dow}") == _aps_accepts(day_of_week=dow)


@settings(max_examples=300, deadline=None)
@given(dow=FIELD)
def test_any_weekday_field_the_domain_accepts_apscheduler_runs(dow: str) -> None:
    """Numbers count like cron (0 and 7 are Sunday): the domain turns them into names, and
    whatever it accepts builds a trigger."""
    assume(not _prefix_only(dow, DayOfWeekField.COMPILERS))
    if _domain_accepts(f"0 4 * * {dow}"):
        assert isinstance(cron_trigger(f"0 4 * * {dow}"), CronTrigger)
    elif re.fullmatch(r"[0-6](,[0-6])*", dow):
        pytest.fail(f"plain weekday numbers refused: {dow}")


@pytest.mark.parametrize("name", ["watch_cron", "digest_daily_cron", "digest_weekly_cron"])
def test_a_cron_setting_is_checked_when_the_settings_are_read(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv(f"TRADEPOINT_{name.upper()}", "0 2 * *")
    with pytest.raises(ValidationError, match=f"(?s){name}.*5 fields"):
        Settings()
