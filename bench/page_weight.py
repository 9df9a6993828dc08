"""Page weight: bytes of the home, results (20 items), record and market pages, uncompressed
and gzip-compressed, on the demo data. Target <= 30 KB each, no JavaScript.

    python -m bench.page_weight
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from typing import Any

import httpx

from bench.common import DATA, save, start_uvicorn, stop


def main() -> None:
    data_dir = DATA / "demo"
    env = {"TRADEPOINT_DATA_DIR": str(data_dir), "TRADEPOINT_LOG_LEVEL": "WARNING"}
    if not (data_dir / "tradepoint.db").exists():
        subprocess.run(
            [sys.executable, "-m", "search_api.cli", "demo", "--no-serve"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
    proc, base = start_uvicorn("search_api.app:create_app()", env, workers=1)
    try:
        first = httpx.get(f"{base}/api/v1/search", params={"kind": "fair", "size": 1}).json()
        record_id = first["items"][0]["id"]
        pages = {
            "home": "/",
            "results_20": "/search?kind=fair&size=20",
            "record": f"/records/{record_id}",
            "market": "/markets/FR?hs=090121&origin=KE",
        }
        figures: dict[str, Any] = {}
        for name, path in pages.items():
            r = httpx.get(
                base + path, headers={"accept": "text/html", "accept-encoding": "identity"}
            )
            body = r.content
            figures[name] = {
                "path": path,
                "status": r.status_code,
                "bytes": len(body),
                "gzip_bytes": len(gzip.compress(body)),
                "script_tags": len(re.findall(rb"<script", body)),
                "items": body.count(b'class="item"'),
            }
        css = httpx.get(f"{base}/static/style.css")
        figures["stylesheet_bytes"] = len(css.content)
        figures["target_bytes"] = 30_000
    finally:
        stop(proc)
    save("page_weight", figures)


if __name__ == "__main__":
    main()
