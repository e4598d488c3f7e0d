"""The store's shared SQL helpers (publisher/store/sql.py), on a real SQLite file, and the rule
that every store module uses them rather than its own copy."""

from __future__ import annotations

import ast
from pathlib import Path

import publisher.store
from publisher.store import Store
from publisher.store.sql import MAX_VARIABLES, as_dicts, flat, insert_many, marks

STORE_DIR = Path(publisher.store.__file__).parent


def _table(tmp_path: Path) -> Store:
    store = Store(tmp_path / "helpers.db")
    store.conn.execute("CREATE TABLE pairs (a INTEGER, b TEXT, c TEXT)")
    return store


def test_marks_gives_one_placeholder_per_value() -> None:
    assert marks([]) == ""
    assert marks(["x"]) == "?"
    assert marks(iter(range(3))) == "?, ?, ?"


def test_insert_many_writes_every_row_across_statements(tmp_path: Path) -> None:
    store = _table(tmp_path)
    rows = [(n, f"b{n}", f"c{n}") for n in range(MAX_VARIABLES)]  # three statements' worth
    with store.transaction() as conn:
        insert_many(conn, "INSERT INTO pairs (a, b, c) VALUES {rows}", 3, flat(rows))
    assert store.conn.execute("SELECT a, b, c FROM pairs ORDER BY a").fetchall() == rows


def test_insert_many_binds_leading_values_first(tmp_path: Path) -> None:
    store = _table(tmp_path)
    pairs = [(n, f"b{n}") for n in range(600)]
    with store.transaction() as conn:
        insert_many(
            conn,
            "INSERT INTO pairs (a, b, c) SELECT column1, column2, ?1 FROM (VALUES {rows})",
            2,
            flat(pairs),
            leading=("lead",),
        )
    assert store.conn.execute("SELECT a, b, c FROM pairs ORDER BY a").fetchall() == [(a, b, "lead") for a, b in pairs]


def test_as_dicts_names_columns(tmp_path: Path) -> None:
    store = _table(tmp_path)
    store.conn.execute("INSERT INTO pairs VALUES (1, 'x', NULL)")
    assert list(as_dicts(store.conn.execute("SELECT * FROM pairs"))) == [{"a": 1, "b": "x", "c": None}]


def _store_modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(STORE_DIR.glob("*.py"))]


def test_no_store_module_writes_its_own_placeholder_helper() -> None:
    for path, _ in _store_modules():
        if path.name == "sql.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert '"?" for' not in text and '"?" *' not in text, f"{path.name}: use publisher.store.sql.marks"


def test_no_store_module_imports_private_names_of_another() -> None:
    for path, tree in _store_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("publisher"):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{path.name}: imports private {private} from {node.module}"


def test_every_store_function_takes_a_store_not_a_connection() -> None:
    for path, tree in _store_modules():
        if path.name == "sql.py":  # the helpers under every store function, given store.conn
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for arg in node.args.args:
                    annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                    assert "Connection" not in annotation, f"{path.name}: {node.name}({arg.arg}) takes a connection"


def test_the_store_docstring_maps_every_module() -> None:
    doc = publisher.store.__doc__ or ""
    for path in STORE_DIR.glob("*.py"):
        if path.name != "__init__.py":
            assert f"``{path.stem}``" in doc, f"publisher/store/__init__.py: {path.stem} is not in the module map"
