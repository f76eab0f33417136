"""A version whose check job never reached Redis is checked anyway (the database is the truth)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from evalpod.datasets import service
from evalpod.datasets.service import VersionFields
from evalpod.db import get_database
from evalpod.keys import Principal, Role
from evalpod.orm import DatasetVersion, utcnow
from tests.datasets.conftest import DataStack

pytestmark = pytest.mark.slow


async def test_a_check_lost_between_commit_and_enqueue_is_sent_again(datastack: DataStack
                                                                     ) -> None:
    name = f"lost-{uuid.uuid4().hex[:6]}"
    dataset = await datastack.dataset(name)
    db = get_database(datastack.settings.database_dsn())
    principal = Principal(tenant_id=dataset["owner"], key_id="test", role=Role.submitter)

    async def body() -> AsyncIterator[bytes]:
        yield b'{"id": "1", "text": "a"}\n'

    # What the API does, minus the enqueue: as if it died right after the commit.
    row = await service.receive_version(
        db, principal, name, VersionFields(version="1", file_format="jsonl", split="test",
                                           id_column="id", hidden_columns=[]),
        body(), datastack.settings)
    async with db.session() as session:
        await session.execute(update(DatasetVersion).where(DatasetVersion.id == row.id)
                              .values(created_at=utcnow() - timedelta(minutes=5)))
    version = await datastack.wait_version(name, "1", timeout_s=180)
    assert version["status"] == "ready"
