"""The README is part of the product: it must document every setting and command."""

from __future__ import annotations

import re
from pathlib import Path

from search_api.cli import build_parser
from search_api.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [n for n in Settings.model_fields if f"`TRADEPOINT_{n.upper()}`" not in README]
    assert missing == []


def test_readme_mentions_no_setting_that_does_not_exist() -> None:
    documented = set(re.findall(r"TRADEPOINT_([A-Z_]+)", README))
    # TRADEPOINT_SECRET_<NAME> are the sources' secrets, open-ended, not settings
    documented = {d for d in documented if not d.startswith("SECRET_")}
    assert documented <= {n.upper() for n in Settings.model_fields}


def test_every_command_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"tradepoint {name}" in README


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    command = re.search(r"## Run the tests\n\n```sh\n(.+)\n```", README)
    assert command is not None
    assert command.group(1) in ci


def test_every_source_format_is_documented() -> None:
    from search_api.domain.sources import source_formats

    missing = [name for name in source_formats() if f"| `{name}` |" not in README]
    assert missing == []
