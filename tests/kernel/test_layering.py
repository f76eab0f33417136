"""The kernel (`evalpod/`, below the CLI) does not import the components above it (`api`,
`validator`, `orchestrator`, `monitor`); STYLE.md, "The kernel knows everything". The
modules that still do are listed, so the list can only shrink."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("api", "validator", "orchestrator", "monitor")
# Still importing a component (to be inverted as they are touched); nothing may be added.
KNOWN = frozenset({
    "evalpod/benchmarks/scoring.py",
    "evalpod/benchmarks/service.py",
    "evalpod/datasets/checking.py",
    "evalpod/datasets/runtime.py",
    "evalpod/runner.py",
    "evalpod/task_registry.py",
})


def component_imports(path: Path) -> list[str]:
    """The components `path` imports, at module level or inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                 else [])
        found += [name for name in names if name.split(".")[0] in COMPONENTS]
    return found


def test_the_kernel_imports_no_component() -> None:
    offenders = {}
    for path in sorted((ROOT / "evalpod").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("evalpod/cli/") or relative in KNOWN:
            continue  # the CLI is the composition root: it assembles every component
        if imported := component_imports(path):
            offenders[relative] = imported
    assert offenders == {}


def test_the_worker_kernel_is_among_the_clean_ones() -> None:
    # The reported case (#15): evalpod/workers.py imported orchestrator.gpus and .sandbox.
    assert component_imports(ROOT / "evalpod" / "workers.py") == []
    assert "evalpod/workers.py" not in KNOWN
