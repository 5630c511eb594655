"""Architecture rules checked on the source itself, not remembered.

1. One governed path for every read: no module under ``wellbeat.web`` other than the
   governance service, and no command in ``GOVERNED_COMMANDS``, imports the lake's engine or
   queries, DuckDB or ``pyarrow.parquet`` / ``pyarrow.dataset``, or opens Parquet files. The
   hub's status page (and a command finding the lake's time span) may read batch manifests
   (metadata about batches, never events), and the settings the lake's time zone, through
   the few names listed in ``MANIFEST_READERS``.
2. ``wellbeat.governance`` is framework-free: it never imports Django, ninja or the web app.
3. The import-linter contracts in pyproject.toml hold (``lint-imports``).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import wellbeat

PACKAGE = Path(wellbeat.__file__).resolve().parent
WEB = PACKAGE / "web"
GOVERNED_SERVICE = WEB / "governance" / "service.py"

FORBIDDEN_IN_WEB = ("wellbeat.lake", "duckdb", "pyarrow.parquet", "pyarrow.dataset")
MANIFEST_READERS: dict[str, frozenset[str]] = {
    "wellbeat.web.hub.status": frozenset(
        {"LakeError", "list_batches", "read_manifest", "BatchManifest", "lake_stats", "LakeStats"}
    ),
    "wellbeat.cli.indicators": frozenset({"list_batches", "lake_time_zone"}),
    "wellbeat.web.settings": frozenset({"LakeError", "lake_time_zone"}),
}
"""Modules allowed to import these names from ``wellbeat.lake.store`` (manifests, batch
statistics and the lake's time-zone setting only; no event rows)."""
GOVERNED_COMMANDS = (PACKAGE / "cli" / "indicators.py", PACKAGE / "cli" / "cardiff.py")
"""CLI commands that read shared data: through the governed service only (issue 10)."""

PARQUET_READERS = frozenset(
    {"read_parquet", "read_table", "ParquetFile", "ParquetDataset", "dataset", "parquet_scan"}
)


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(PACKAGE.parent)}:{self.line}: {self.what}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _imports(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [alias.name for alias in node.names]
            found.append((node.lineno, node.module, names))
            # ``from pyarrow import parquet`` reaches pyarrow.parquet too.
            found.extend((node.lineno, f"{node.module}.{n}", []) for n in names)
    return found


def lake_read_violations(path: Path, source: str) -> list[Violation]:
    """Direct lake reads in one web module: forbidden imports, Parquet readers, SQL scans."""
    tree = ast.parse(source, filename=str(path))
    module = _module_name(path)
    out: list[Violation] = []
    for line, name, names in _imports(tree):
        if not _matches(name, FORBIDDEN_IN_WEB):
            continue
        allowed = MANIFEST_READERS.get(module, frozenset())
        if name == "wellbeat.lake.store" and names and set(names) <= allowed:
            continue
        if name.startswith("wellbeat.lake.store.") and name.rsplit(".", 1)[1] in allowed:
            continue
        out.append(Violation(path, line, f"imports {name}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in PARQUET_READERS:
                out.append(Violation(path, node.lineno, f"calls {called}() (reads Parquet)"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if "read_parquet(" in text or "parquet_scan(" in text:
                out.append(Violation(path, node.lineno, "SQL scanning Parquet"))
    return out


def _web_modules() -> list[Path]:
    return sorted(p for p in WEB.rglob("*.py") if "migrations" not in p.parts)


def test_no_web_module_reads_the_lake_except_the_governed_service() -> None:
    violations = [
        v
        for path in _web_modules()
        if path != GOVERNED_SERVICE
        for v in lake_read_violations(path, path.read_text(encoding="utf-8"))
    ]
    assert not violations, "direct lake reads outside the governed service:\n" + "\n".join(
        map(str, violations)
    )


def test_commands_that_read_shared_data_go_through_the_governed_service() -> None:
    violations = [
        v
        for path in GOVERNED_COMMANDS
        for v in lake_read_violations(path, path.read_text(encoding="utf-8"))
    ]
    assert not violations, "direct lake reads in a CLI command:\n" + "\n".join(map(str, violations))


def test_the_governed_service_is_where_the_engine_is_opened() -> None:
    """Guards the guard: the scan does see the service's engine import."""
    found = lake_read_violations(GOVERNED_SERVICE, GOVERNED_SERVICE.read_text(encoding="utf-8"))
    assert any("wellbeat.lake.engine" in v.what for v in found)


@pytest.mark.parametrize(
    "source",
    [
        "import duckdb\n",
        "from wellbeat.lake.engine import open_engine\n",
        "from wellbeat.lake import query\n",
        "import pyarrow.parquet as pq\n",
        "from pyarrow import parquet\n",
        "import pandas as pd\npd.read_parquet('x')\n",
        "q = \"SELECT * FROM read_parquet('lake/events/*.parquet')\"\n",
        "from wellbeat.lake.store import event_files\n",
    ],
)
def test_the_scan_catches_each_way_of_reading_the_lake(source: str) -> None:
    fake = WEB / "hub" / "status.py"  # even the manifest reader may not do these
    assert lake_read_violations(fake, source)


def test_the_manifest_reader_may_read_manifests_only() -> None:
    status = WEB / "hub" / "status.py"
    assert not lake_read_violations(status, "from wellbeat.lake.store import list_batches\n")
    assert lake_read_violations(
        WEB / "hub" / "views.py", "from wellbeat.lake.store import list_batches\n"
    )


def test_governance_core_is_framework_free() -> None:
    violations = []
    for path in sorted((PACKAGE / "governance").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name, _ in _imports(tree):
            if _matches(name, ("django", "ninja", "wellbeat.web")):
                violations.append(Violation(path, line, f"imports {name}"))
    assert not violations, "\n".join(map(str, violations))


def test_import_linter_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint_imports).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    root = PACKAGE.parent.parent
    result = subprocess.run(
        [lint_imports], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
