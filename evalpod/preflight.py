"""Preflight: will a submission fit, how long will it take, can it use its data? Stores nothing.

`check_data_request` is the quick check of submit and validate that the script's entrypoint
and the submission agree about data: `evaluate_model(model, data)` with no dataset named,
or a literal `data["name"]` naming no dataset of the submission, is refused at once rather
than failing its trial with a bare KeyError.

Memory is estimated from the registered model (parameters x bytes of the dtype the run
will use: float32 on CPU, bfloat16 on a GPU) plus the attention cache for one batch at
full context (2 x layers x hidden x context x batch x bytes, from config.json); the
duration is the median of this deployment's own succeeded runs of the same kind on
models within a factor of two in size.
"""

from __future__ import annotations

import ast
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evalpod.datasets.errors import DatasetNotFound
from evalpod.datasets.service import resolve_refs
from evalpod.errors import InvalidConfig
from evalpod.keys import Principal
from evalpod.lifecycle import EvaluationStatus
from evalpod.orm import Evaluation, Model

MIB = 1024 * 1024
DEFAULT_BATCH = 8
HISTORY_LIMIT = 500
# What the harness, torch and the tokenizer take besides the weights (measured on CPU).
RUNTIME_OVERHEAD_MB = 600
CHARS_PER_TOKEN = 4  # a rough English average: the API never loads a tokenizer


@dataclass
class Preflight:
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    estimate: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _architecture(model: Model) -> dict[str, int]:
    try:
        config = json.loads((Path(model.storage_path) / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    keys = {"layers": ("n_layer", "num_hidden_layers"), "hidden": ("n_embd", "hidden_size"),
            "context": ("n_positions", "max_position_embeddings")}
    found = {}
    for name, options in keys.items():
        for key in options:
            if isinstance(config.get(key), int):
                found[name] = int(config[key])
                break
    return found


def memory_estimate(model: Model, gpus: int, batch: int = DEFAULT_BATCH) -> dict[str, Any]:
    """Weights and inference memory in MiB for a run on `gpus` GPUs (0: CPU, float32)."""
    bytes_per = 2 if gpus else 4
    weights = (model.parameters or 0) * bytes_per
    arch = _architecture(model)
    context = arch.get("context") or model.context_length or 0
    cache = 2 * arch.get("layers", 0) * arch.get("hidden", 0) * context * batch * bytes_per
    return {"dtype": "bfloat16" if gpus else "float32", "weights_mb": round(weights / MIB, 1),
            "inference_mb": round(cache / MIB, 1), "batch": batch, "context": context,
            "runtime_overhead_mb": RUNTIME_OVERHEAD_MB,
            "total_mb": round((weights + cache) / MIB + RUNTIME_OVERHEAD_MB, 1)}


async def duration_estimate(session: AsyncSession, model: Model, kind: str) -> dict[str, Any]:
    """Median wall time of past succeeded runs of `kind` on models of similar size."""
    size = model.parameters or 0
    rows = await session.execute(
        select(Evaluation.started_at, Evaluation.finished_at, Model.parameters)
        .join(Model, Model.id == Evaluation.model_id)
        .where(Evaluation.status == EvaluationStatus.succeeded.value, Evaluation.kind == kind,
               Evaluation.started_at.is_not(None), Evaluation.finished_at.is_not(None))
        .order_by(Evaluation.finished_at.desc()).limit(HISTORY_LIMIT))
    seconds = [(finished - started).total_seconds() for started, finished, params in rows
               if started and finished and size and params and size / 2 <= params <= size * 2]
    if not seconds:
        return {"expected_duration_s": None, "based_on_runs": 0}
    return {"expected_duration_s": round(statistics.median(seconds), 1),
            "based_on_runs": len(seconds)}


async def preflight(session: AsyncSession, principal: Principal, *, model_id: str, kind: str,
                    memory_mb: int, gpus: int, host_gpus: int | None,
                    datasets: list[str] | None) -> Preflight:
    report = Preflight()
    model = await session.get(Model, model_id)
    if model is None:
        report.errors.append(f"model {model_id!r} is not registered")
        return report
    memory = memory_estimate(model, gpus)
    report.estimate["memory"] = memory
    if memory["total_mb"] > memory_mb:
        report.errors.append(f"needs about {memory['total_mb']:.0f} MiB; config.memory_mb is "
                             f"{memory_mb}")
    elif memory["total_mb"] > 0.8 * memory_mb:
        report.warnings.append(f"needs about {memory['total_mb']:.0f} MiB of the {memory_mb} "
                               "MiB asked for: little headroom")
    if host_gpus is not None and gpus > host_gpus:
        report.errors.append(f"asks for {gpus} GPUs; this host has {host_gpus}")
    report.estimate |= await duration_estimate(session, model, kind)
    if report.estimate["based_on_runs"] == 0:
        report.warnings.append("no past runs of similar size: no duration estimate")
    if datasets:
        report.estimate["datasets"] = await _datasets(session, principal, model, datasets,
                                                      report)
    return report


async def _datasets(session: AsyncSession, principal: Principal, model: Model,
                    refs: list[str], report: Preflight) -> list[dict[str, Any]]:
    try:
        resolved = await resolve_refs(session, principal, refs)
    except DatasetNotFound as exc:
        report.errors.append(exc.message)
        return []
    context = memory_estimate(model, 0)["context"]
    out = []
    for item in resolved:
        stats = item.version.statistics or {}
        longest = int(stats.get("longest_text_chars") or 0) // CHARS_PER_TOKEN
        entry: dict[str, Any] = {"dataset": f"{item.name}@{item.version.version}",
                                 "rows": item.version.row_count,
                                 "longest_example_tokens_estimate": longest,
                                 "compatible": True, "warnings": [], "errors": []}
        if context and longest > context:
            entry["warnings"].append(f"its longest example (~{longest} tokens) is longer than "
                                     f"the model's context ({context}); it will be cut")
        out.append(entry)
        report.warnings.extend(f"{entry['dataset']}: {w}" for w in entry["warnings"])
    return out


ENTRYPOINT = "evaluate_model"
# Speaks HTTP, as every server hint does; the CLI and the SDK say it their way
# (evalpod/cli/hints.py, evalpod/sdk/hints.py).
DATA_HINT = ("Name each dataset version the script reads in the body's `datasets` "
             "(name@version; GET /api/v1/datasets lists yours); a script that also runs "
             "without data gives the parameter a default: evaluate_model(model, data=None).")


def check_data_request(tree: ast.Module, datasets: Sequence[str] | None) -> None:
    """Refuse a script whose `evaluate_model` needs data the submission does not name.

    `tree` is the parsed script; `datasets` the submission's `name@version` references.
    Raises `InvalidConfig` (field `datasets`, `detail.line` at the entrypoint or the read)
    when a second positional parameter without a default meets no datasets, or when a
    literal key read from it (`data["quiz"]`) is not a named dataset. Anything the quick
    screen refuses (no entrypoint, a bad signature) is left to it.
    """
    entry = next((stmt for stmt in tree.body if isinstance(stmt, ast.FunctionDef)
                  and stmt.name == ENTRYPOINT), None)
    param = _data_parameter(entry) if entry is not None else None
    if entry is None or param is None:
        return
    names = sorted({ref.rpartition("@")[0] or ref for ref in datasets or []})
    if not names:
        _refuse(f"`{ENTRYPOINT}(model, {param})` needs datasets, but this submission names "
                "none", entry.lineno)
    for key, line in _literal_reads(entry, param):
        if key not in names:
            _refuse(f"`{ENTRYPOINT}` reads {param}[{key!r}], but this submission names no "
                    f"dataset {key!r} (it names {', '.join(names)})", line)


def _data_parameter(entry: ast.FunctionDef) -> str | None:
    """The name of the second positional parameter when it has no default (the harness
    passes the datasets there), else None."""
    positional = [*entry.args.posonlyargs, *entry.args.args]
    if len(positional) < 2 or len(positional) - len(entry.args.defaults) < 2:
        return None
    return positional[1].arg


def _literal_reads(entry: ast.FunctionDef, param: str) -> list[tuple[str, int]]:
    """`param["key"]` loads in the function, unless `param` is rebound or shadowed there
    (then a key proves nothing)."""
    reads: list[tuple[str, int]] = []
    for node in ast.walk(entry):
        if isinstance(node, ast.Name) and node.id == param and not isinstance(node.ctx,
                                                                               ast.Load):
            return []
        if isinstance(node, ast.arg) and node.arg == param and node is not _arg(entry, param):
            return []
        if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
                and isinstance(node.value, ast.Name) and node.value.id == param
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            reads.append((node.slice.value, node.lineno))
    return reads


def _arg(entry: ast.FunctionDef, name: str) -> ast.arg | None:
    return next((a for a in [*entry.args.posonlyargs, *entry.args.args] if a.arg == name), None)


def _refuse(message: str, line: int) -> NoReturn:
    raise InvalidConfig(message, hint=DATA_HINT, detail={
        "line": line, "errors": [{"field": "datasets", "message": message}]})
