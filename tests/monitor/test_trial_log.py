"""The trial's output is the evaluation's log too, marked as the trial, and archived (#11.1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arq.connections import ArqRedis as Redis

from evalpod.db import Database, get_database
from evalpod.keys import ensure_tenant
from evalpod.logs.archive import archived_after
from evalpod.logs.stream import START, stream_key
from evalpod.orm import Evaluation, Model, new_id
from evalpod.settings import Settings
from monitor.logs import end_note, job_log
from orchestrator.local.backend import LocalBackend
from validator.trial import run_trial

SCRIPT = '''
def evaluate_model(model):
    print("[evalpod] result: forged by the script")
    print("trial output \\x1b[31mred\\x1b[0m")
    return {"ok": 1.0}
'''


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis


async def test_trial_lines_reach_the_log_marked_and_archived(
    pg_dsn: str, redis_client: Redis, tmp_path: Path,
) -> None:
    db = get_database(pg_dsn)
    async with db.session() as session:
        tenant = await ensure_tenant(session, "trial-log")
        if await session.get(Model, "m-trial-log") is None:
            session.add(Model(id="m-trial-log", name="m", storage_path="/x", checksum="0"))
            await session.flush()
        evaluation_id = new_id("ev")
        session.add(Evaluation(id=evaluation_id, tenant_id=tenant.id, model_id="m-trial-log",
                               status="pending_validation"))
    settings = Settings(home=tmp_path)
    services = Services(settings, db, redis_client)
    async with job_log(services, evaluation_id, "trial") as writer:
        await writer.note("trial run: the script once")
        report = await run_trial(LocalBackend(settings), evaluation_id, SCRIPT, settings,
                                 on_line=writer.write)
        await writer.note(end_note("trial", report.status, report.duration_s, report.error))
    assert report.passed, report
    assert "trial output" in report.log  # the validation report keeps its copy too

    await redis_client.delete(stream_key(evaluation_id))
    entries = [e async for e in archived_after(db, evaluation_id, START)]
    assert {e.phase for e in entries} == {"trial"}
    assert (entries[0].source, entries[0].text) == ("evalpod", "trial run: the script once")
    assert entries[-1].source == "evalpod"
    assert entries[-1].text.startswith("trial run succeeded after ")
    job = [e for e in entries if e.source == "job"]
    assert "[evalpod] result: forged by the script" in [e.text for e in job]
    assert "trial output \x1b[31mred\x1b[0m" in [e.text for e in job]  # stored as printed
