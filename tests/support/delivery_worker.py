"""Run as a separate process by the kill-and-resume test: deliver one edition's pending rows.

usage: python tests/support/delivery_worker.py CONFIG EDITION_ID   (secrets from the environment)
"""

from __future__ import annotations

import sys

from publisher.app import App
from publisher.config import load_config
from publisher.delivery.engine import deliver_pending

if __name__ == "__main__":
    app = App(load_config(sys.argv[1]))
    report = deliver_pending(app, int(sys.argv[2]))
    print(f"{report.status} sent={report.sent} unknown={report.unknown} pending={report.pending}", flush=True)
    app.close()
