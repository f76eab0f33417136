"""`python -m tests.chaos.faulty ROLE [ARGS]`: one evalpod process whose database writes fail.

Each INSERT/UPDATE/DELETE fails with probability `EVALPOD_CHAOS_WRITE_FAULT_P` as a
dropped connection would (`OperationalError`), in every engine the process creates.
Everything else is the ordinary `evalpod ROLE` command.
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

WRITES = ("INSERT", "UPDATE", "DELETE")


def install(probability: float, rng: random.Random | None = None) -> None:
    """Fail writes of every engine in this process with `probability`."""
    chance = rng or random.Random()

    @event.listens_for(Engine, "before_cursor_execute")
    def _maybe_fail(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip()[:6].upper().startswith(WRITES) and chance.random() < probability:
            raise OperationalError(statement, params, ConnectionResetError("chaos: write fault"))


def main() -> None:
    probability = float(os.environ.get("EVALPOD_CHAOS_WRITE_FAULT_P", "0") or 0)
    if probability > 0:
        install(probability)
    from evalpod.cli import main as evalpod_main

    sys.argv = ["evalpod", *sys.argv[1:]]
    evalpod_main()


if __name__ == "__main__":
    main()
