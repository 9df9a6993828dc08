"""docker-compose.yml and the Dockerfile, checked for structure (Docker cannot run here)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from search_api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
TRADEPOINT_SERVICES = ("api", "scheduler")
_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")


def _command(service: str) -> str:
    cmd = SERVICES[service]["command"]
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


def _env(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):  # the KEY=value form
        env = dict(item.split("=", 1) for item in env)
    # What `docker compose` substitutes when the variable is not set.
    return {str(k): _DEFAULTED.sub(r"\2", str(v)) for k, v in env.items()}


def test_every_service_is_there() -> None:
    assert set(SERVICES) >= {"elasticsearch", "postgres", "api", "scheduler", "mailpit"}


def test_versions_match_what_the_code_is_built_for() -> None:
    assert re.search(r"elasticsearch:8\.15\.\d+$", SERVICES["elasticsearch"]["image"])
    assert SERVICES["postgres"]["image"].split(":")[1].startswith("16")


@pytest.mark.parametrize("service", ["elasticsearch", "postgres", "api", "mailpit"])
def test_services_others_wait_for_have_health_checks(service: str) -> None:
    check = SERVICES[service]["healthcheck"]
    assert check["test"] and not check.get("disable")
    assert {"interval", "retries"} <= set(check)


def test_health_checks_ask_the_right_question() -> None:
    def joined(service: str) -> str:
        test = SERVICES[service]["healthcheck"]["test"]
        return " ".join(test) if isinstance(test, list) else test

    assert "_cluster/health?wait_for_status=yellow" in joined("elasticsearch")
    assert "pg_isready" in joined("postgres")
    assert "/readyz" in joined("api")


def test_elasticsearch_is_a_single_node_with_a_set_heap() -> None:
    env = _env("elasticsearch")
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"
    heap = re.findall(r"-Xm([sx])(\d+[mg])", env["ES_JAVA_OPTS"])
    assert dict(heap).keys() == {"s", "x"} and len(set(dict(heap).values())) == 1


def test_dependencies_wait_until_healthy() -> None:
    api_deps = SERVICES["api"]["depends_on"]
    for dep in ("postgres", "elasticsearch"):
        assert api_deps[dep]["condition"] == "service_healthy"
    sched_deps = SERVICES["scheduler"]["depends_on"]
    assert sched_deps["api"]["condition"] == "service_healthy"  # migrations have run
    for deps in (api_deps, sched_deps):
        for name, spec in deps.items():
            assert name in SERVICES
            assert spec["condition"] in {"service_healthy", "service_started"}


def test_the_api_migrates_then_runs_several_fast_workers() -> None:
    cmd = _command("api")
    assert cmd.index("tradepoint db upgrade") < cmd.index("uvicorn")
    args = shlex.split(cmd.split("uvicorn", 1)[1])
    opts = dict(zip(args, [*args[1:], ""], strict=True))
    assert opts["--loop"] == "uvloop"
    assert opts["--http"] == "httptools"
    assert int(opts["--workers"]) >= 2
    assert "--factory" in args and "search_api.app:create_app" in args
    assert opts["--host"] == "0.0.0.0"


def test_the_scheduler_runs_the_scheduler() -> None:
    assert _command("scheduler").startswith("tradepoint scheduler")
    # Longer than --shutdown-grace: running crawls may finish before Docker kills it.
    grace = re.search(r"--shutdown-grace\s+(\d+)", _command("scheduler"))
    stop = re.fullmatch(r"(\d+)s", SERVICES["scheduler"]["stop_grace_period"])
    assert grace and stop and int(stop.group(1)) > int(grace.group(1))


@pytest.mark.parametrize("service", TRADEPOINT_SERVICES)
def test_environment_names_are_real_settings(service: str) -> None:
    env = _env(service)
    names = [k for k in env if k.startswith("TRADEPOINT_")]
    assert names
    fields = {f"TRADEPOINT_{name.upper()}" for name in Settings.model_fields}
    unknown = [n for n in names if n not in fields]
    assert unknown == []


@pytest.mark.parametrize("service", TRADEPOINT_SERVICES)
def test_environment_makes_valid_settings_for_postgres_and_elasticsearch(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("TRADEPOINT_"):
            monkeypatch.delenv(key)
    for key, value in _env(service).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.sqlalchemy_url.startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in settings.sqlalchemy_url
    assert settings.elasticsearch_url == "http://elasticsearch:9200"
    assert settings.smtp_host == "mailpit"


def test_api_and_scheduler_share_one_configuration() -> None:
    assert _env("api") == _env("scheduler")


def test_volumes_are_declared_and_used() -> None:
    declared = set(COMPOSE["volumes"])
    used = {
        str(v).split(":", 1)[0]
        for spec in SERVICES.values()
        for v in spec.get("volumes", [])
        if not str(v).startswith((".", "/"))
    }
    assert used == declared
    mounts = {s: [str(v) for v in SERVICES[s].get("volumes", [])] for s in SERVICES}
    assert any(v.endswith(":/var/lib/postgresql/data") for v in mounts["postgres"])
    assert any(v.endswith(":/usr/share/elasticsearch/data") for v in mounts["elasticsearch"])


def test_the_image_runs_as_a_user_and_installs_the_project() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "pip install" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", "var", "tests"} <= set(ignored)
