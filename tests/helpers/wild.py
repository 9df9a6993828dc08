"""tests/fixtures/wild: pages and calendars written the ways real sites write them, and their
hand-checked expectations (see the folder's README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WILD = Path(__file__).resolve().parents[1] / "fixtures" / "wild"
EXPECTED: dict[str, Any] = json.loads((WILD / "expected.json").read_text(encoding="utf-8"))
