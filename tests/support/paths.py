"""Where the tests find the project and their data files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: newsletters/, docs/ (config.toml: test_demo.py only)
DATA = ROOT / "tests" / "data"
HOSTILE = DATA / "hostile"  # hostile inputs, one file per area
