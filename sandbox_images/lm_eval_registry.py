"""List installed lm-eval tasks by reading their YAML files (no lm_eval import in the service)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

DEFAULT_TASK_DIR = Path(__file__).resolve().parent / "lm_eval_tasks"
MAX_INCLUDE_DEPTH = 4


class TaskInfo(BaseModel):
    """One lm-eval task as `GET /lm-eval/tasks` shows it."""

    name: str
    output_type: str | None = Field(description="multiple_choice, generate_until, ...")
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    num_rows: int | None = Field(default=None, description="Rows of the evaluated split, if local.")
    source: str = Field(description="The task directory the YAML file lives in.")


class _TaskYamlLoader(yaml.SafeLoader):
    """SafeLoader that keeps lm-eval's `!function module.name` tags as plain strings."""


def _function_tag(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!function needs a name", node.start_mark
        )
    return str(loader.construct_scalar(node))


_TaskYamlLoader.add_constructor("!function", _function_tag)


def _load_yaml(path: Path, depth: int = 0) -> dict[str, Any]:
    """A task YAML with its `include:` base merged underneath, as lm-eval does."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_TaskYamlLoader)
    if not isinstance(data, dict):
        return {}
    include = data.pop("include", None)
    if isinstance(include, str) and depth < MAX_INCLUDE_DEPTH:
        base_path = Path(include) if Path(include).is_absolute() else path.parent / include
        if base_path.is_file():
            return {**_load_yaml(base_path, depth + 1), **data}
    return data


def _count_rows(config: dict[str, Any], base: Path) -> int | None:
    """Non-empty lines of the local JSONL behind the evaluated split, if there is one."""
    split = config.get("test_split") or config.get("validation_split")
    kwargs = config.get("dataset_kwargs") or {}
    files = kwargs.get("data_files") if isinstance(kwargs, dict) else None
    if not isinstance(split, str) or not isinstance(files, dict):
        return None
    name = files.get(split)
    if not isinstance(name, str) or not name.endswith((".jsonl", ".json")):
        return None
    path = Path(name) if Path(name).is_absolute() else base / name
    if not path.is_file():
        return None
    if name.endswith(".json"):
        return None
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def _task_info(path: Path, source: Path) -> TaskInfo | None:
    try:
        config = _load_yaml(path)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    name = config.get("task")
    if not isinstance(name, str):
        return None  # group definitions list several tasks; they are not tasks themselves
    tags = config.get("tag") or []
    # Not the top-level `description`: lm-eval prepends that to every prompt.
    metadata = config.get("metadata")
    description = metadata.get("description") if isinstance(metadata, dict) else None
    return TaskInfo(
        name=name,
        output_type=config.get("output_type"),
        description=description.strip() if isinstance(description, str) else None,
        tags=[tags] if isinstance(tags, str) else [str(t) for t in tags],
        num_rows=_count_rows(config, path.parent),
        source=str(source),
    )


def list_tasks(dirs: list[Path] | None = None) -> list[TaskInfo]:
    """Every task defined by a YAML file under `dirs` (default: the shipped tasks), by name.

    A name defined twice keeps its first definition, matching lm-eval's include order.
    """
    found: dict[str, TaskInfo] = {}
    for directory in dirs if dirs is not None else [DEFAULT_TASK_DIR]:
        root = Path(directory)
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.yaml")):
            info = _task_info(path, root)
            if info is not None and info.name not in found:
                found[info.name] = info
    return sorted(found.values(), key=lambda info: info.name)
