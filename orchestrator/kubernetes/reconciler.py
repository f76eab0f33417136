"""Deletes evaluation objects left in the cluster after their evaluation ended or vanished."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from evalpod.settings import Settings, get_settings
from orchestrator.kubernetes.client import Kind, KubeCluster, Manifest
from orchestrator.kubernetes.manifests import (
    EVALUATION_ANNOTATION,
    EVALUATION_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
)

logger = logging.getLogger(__name__)

IsLive = Callable[[str], bool | Awaitable[bool]]

# Jobs first: the garbage collector then takes the pods, Secrets and policies they own;
# the later kinds catch objects whose owner is already gone or was never linked.
_KINDS = (Kind.job, Kind.pod, Kind.secret, Kind.network_policy)


def evaluation_id(obj: Manifest) -> str | None:
    metadata = obj.get("metadata", {})
    annotated: str | None = (metadata.get("annotations") or {}).get(EVALUATION_ANNOTATION)
    if annotated:
        return annotated
    labelled: str | None = (metadata.get("labels") or {}).get(EVALUATION_LABEL)
    return labelled


@dataclass
class ReconcileReport:
    deleted: dict[str, list[str]] = field(default_factory=dict)

    @property
    def evaluation_ids(self) -> list[str]:
        return sorted(self.deleted)


class OrphanReconciler:
    """Removes every evalpod-managed object whose evaluation `is_live` says is over.

    `is_live(evaluation_id)` is true while the evaluation may still be running
    (sync or async); anything terminal or unknown to the caller is an orphan.
    """

    def __init__(self, cluster: KubeCluster, is_live: IsLive) -> None:
        self._cluster = cluster
        self._is_live = is_live

    async def _live(self, evaluation: str, cache: dict[str, bool]) -> bool:
        if evaluation not in cache:
            answer = self._is_live(evaluation)
            cache[evaluation] = bool(await answer if inspect.isawaitable(answer) else answer)
        return cache[evaluation]

    async def run_once(self) -> ReconcileReport:
        report = ReconcileReport()
        cache: dict[str, bool] = {}
        selector = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
        for kind in _KINDS:
            for obj in await self._cluster.list(kind, selector):
                evaluation = evaluation_id(obj)
                if evaluation is None or await self._live(evaluation, cache):
                    continue
                name: str = obj["metadata"]["name"]
                if await self._cluster.delete(kind, name, grace_period_s=1):
                    report.deleted.setdefault(evaluation, []).append(f"{kind.value}/{name}")
        for evaluation, objects in report.deleted.items():
            logger.info("removed orphaned objects of evaluation %s: %s", evaluation, objects)
        return report


def owning_evaluation(job_id: str) -> str:
    """The evaluation a sandbox job belongs to (validator trial runs use `<id>-trial`)."""
    return job_id.removesuffix("-trial")


async def clean_orphans_from_settings(db: Any, settings: Settings | None = None) -> ReconcileReport:
    """One reconciler pass with liveness read from evalpod's database (`evalpod monitor`)."""
    from evalpod.lifecycle import LIVE
    from evalpod.orm import Evaluation
    from orchestrator.kubernetes.backend import KubernetesBackend

    backend = KubernetesBackend.from_settings(settings or get_settings())

    async def is_live(job_id: str) -> bool:
        async with db.session() as session:
            evaluation = await session.get(Evaluation, owning_evaluation(job_id))
            return evaluation is not None and evaluation.status in LIVE

    try:
        return await OrphanReconciler(backend.cluster, is_live).run_once()
    finally:
        backend.close()
