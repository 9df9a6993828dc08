from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text

from search_api.errors import BadRequest, Conflict
from search_api.store import RunStats, Store
from search_api.store.keys import create_key, revoke_key, verify_key

# On SQLite and again on PostgreSQL (which skips, with the reason, where it cannot start).
pytestmark = pytest.mark.databases("sqlite", "postgresql")


def test_keys_are_stored_only_as_hashes(store: Store) -> None:
    key = create_key(store, "kenya_epc", "agency")
    assert key.startswith("tp_") and len(key) > 40
    with store.engine.connect() as conn:
        dumped = " ".join(
            str(v) for row in conn.execute(text("SELECT * FROM api_keys")) for v in row
        )
    assert key not in dumped
    principal = verify_key(store, key)
    assert principal is not None and (principal.name, principal.role) == ("kenya_epc", "agency")
    assert verify_key(store, key + "x") is None and verify_key(store, "nonsense") is None
    revoke_key(store, principal.key_id)
    assert verify_key(store, key) is None


def test_key_names_and_roles_are_checked(store: Store) -> None:
    with pytest.raises(BadRequest, match="role"):
        create_key(store, "x_agency", "superuser")
    with pytest.raises(BadRequest, match="name"):
        create_key(store, "Bad Name!", "agency")


@pytest.mark.e2e  # the installed command, in subprocesses
def test_keys_create_prints_the_key_once(settings, store: Store) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "search_api.cli",
            "keys",
            "create",
            "--role",
            "admin",
            "--name",
            "ops",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    key = proc.stdout.strip()
    principal = verify_key(store, key)
    assert principal is not None and principal.is_admin
    listing = subprocess.run(
        [sys.executable, "-m", "search_api.cli", "keys", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ops" in listing and key not in listing


def test_only_one_run_per_source_at_a_time(store: Store) -> None:
    first = store.start_run("xx_src")
    with pytest.raises(Conflict, match=f"already running \\(run {first}"):
        store.start_run("xx_src")
    other = store.start_run("yy_src")  # other sources are not blocked
    store.finish_run(first, "succeeded", RunStats())
    assert store.start_run("xx_src") > other


def test_a_run_whose_process_died_is_marked_interrupted(store: Store) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    first = store.start_run("xx_src")
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET pid = :pid WHERE id = :id"),
            {"pid": int(dead.stdout), "id": first},
        )
    second = store.start_run("xx_src")
    assert store.get_run(first).status == "interrupted"
    assert store.get_run(second).status == "running"
