"""GET /api/v1/lm-eval/tasks: the installed lm-eval task registry (shipped + operator dirs)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.deps import PrincipalDep
from api.errors import responses
from api.text import TextCheckedRoute
from evalpod import errors
from evalpod.settings import Settings
from evalpod.task_registry import available_tasks
from sandbox_images.lm_eval_registry import TaskInfo

router = APIRouter(prefix="/lm-eval", tags=["lm-eval"], route_class=TextCheckedRoute)


class TaskList(BaseModel):
    tasks: list[TaskInfo]


@router.get(
    "/tasks",
    response_model=TaskList,
    responses=responses(errors.Unauthorized, errors.RateLimited),
    summary="The lm-eval tasks an lm_eval evaluation may name",
)
async def list_tasks(request: Request, principal: PrincipalDep) -> TaskList:
    settings: Settings = request.app.state.settings
    # The first call reads YAML and data files; keep that off the event loop.
    return TaskList(tasks=await asyncio.to_thread(available_tasks, settings))
