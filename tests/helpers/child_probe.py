"""A stand-in crawl module for the tests of `WarmChildren`: `main(argv)` writes what the child
saw to the file named by argv[0], sleeps argv[2] seconds, and exits with the status argv[1]."""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def main(argv: list[str]) -> int:
    out, code, pause = argv[0], int(argv[1]), float(argv[2])
    seen = {
        "pid": os.getpid(),
        "argv": argv,
        "probe_env": os.environ.get("TP_PROBE"),
        "parent_only_env": os.environ.get("TP_PARENT_ONLY"),
        "scrapy_loaded": "scrapy.crawler" in sys.modules,
        "reactor_installed": "twisted.internet.reactor" in sys.modules,
        "threads": threading.active_count(),
        "main_module": getattr(sys.modules["__main__"], "__file__", None),
    }
    with open(out, "w") as f:
        json.dump(seen, f)
    time.sleep(pause)
    return code


if __name__ == "__main__":  # as a fresh process (`python -m`), where no fork server is used
    sys.exit(main(sys.argv[1:]))
