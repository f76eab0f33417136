"""Group commit of plain submits on PostgreSQL: the rows of concurrent submits written by
one pipelined executemany of the submit INSERT (one prepared statement, one round trip, all
or nothing), and their jobs then sent by one Redis pipeline (with a `ScriptBatcher`, the
pipeline that also carries the admissions of the submits arriving meanwhile).

Natural batching, as PostgreSQL groups its own WAL flushes: the first submit is written at
once; submits that arrive while a write is in flight wait for it and go together in the
next one. A lone submit waits for nothing; under load one statement and two round trips
carry many. Nothing changes for a submit: it answers only once its row is committed, and
its job is sent only after that commit (a crash in between is the reconciler's case: the
row holds its `queue_job_id` and Redis no job). A batch the database refuses is written
again row by row, so one bad row fails only its own submit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from evalpod import lifecycle, queue
from evalpod.batching import MicroBatcher, Pending
from evalpod.db import Database
from evalpod.lua import ScriptBatcher

log = logging.getLogger("evalpod.api")

# Bounds how long one write holds the submits in it.
MAX_BATCH = 64


@dataclass(frozen=True)
class _Submit:
    row: dict[str, Any]
    actor: str
    job: queue.QueuedJob


_Pending = Pending[_Submit, int | None]


class GroupCommit(MicroBatcher[_Submit, int | None]):
    """One per API process and database (PostgreSQL only)."""

    def __init__(self, db: Database, redis: ArqRedis, batcher: ScriptBatcher | None = None
                 ) -> None:
        assert db.engine.dialect.name == "postgresql"
        super().__init__(MAX_BATCH)
        self.db = db
        self.redis = redis
        self.batcher = batcher

    def add_submit(self, row: dict[str, Any], actor: str, job: queue.QueuedJob
                   ) -> asyncio.Future[int | None]:
        """Queue a new evaluation (`lifecycle.evaluation_row`) for the next write.

        The future resolves once its row, first transition and activity row are committed
        and `job` was sent: to the job's 1-based queue place, or None when Redis did not
        take it (the reconciler re-sends it). It fails with the database's error when the
        row was not written."""
        return self.add(_Submit(row, actor, job))

    async def send_batch(self, batch: list[_Pending]) -> None:
        await self._send(await self._write(batch))

    async def _write(self, batch: list[_Pending]) -> list[_Pending]:
        """The entries of `batch` whose rows are committed; the others have failed."""
        try:
            await self._insert(batch)
            return batch
        except Exception:
            if len(batch) == 1:
                raise
        written = []
        for pending in batch:
            try:
                await self._insert([pending])
            except Exception as exc:
                pending[1].set_exception(exc)
            else:
                written.append(pending)
        return written

    async def _insert(self, batch: list[_Pending]) -> None:
        # One statement is atomic by itself: autocommit spares BEGIN and COMMIT round trips.
        async with self.db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await lifecycle.insert_many_submitted(
                connection, [(submit.row, submit.actor) for submit, _ in batch])

    async def _send(self, written: list[_Pending]) -> None:
        # The rows are committed: the submits are accepted whatever Redis answers.
        places: dict[str, int | BaseException | None] = {}
        try:
            places = await queue.send_many(self.redis, [submit.job for submit, _ in written],
                                           self.batcher)
        except (RedisError, OSError) as exc:
            log.warning("committed jobs not delivered (the reconciler will): %s", exc)
        for submit, done in written:
            place = places.get(submit.job.job_id)
            if isinstance(place, BaseException):
                log.warning("committed job %s not delivered (the reconciler will): %s",
                            submit.job.job_id, place)
                place = None
            if not done.done():
                done.set_result(place)


async def outcome(done: asyncio.Future[int | None]) -> bool:
    """Whether the write behind `done` committed, once it is over (for a submit cancelled
    while it waited: its quota stays taken only if its evaluation exists)."""
    with contextlib.suppress(BaseException):
        await asyncio.shield(done)
    return done.done() and not done.cancelled() and done.exception() is None
