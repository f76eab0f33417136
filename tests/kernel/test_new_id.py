"""`new_id`: 128 random bits as 32 hex digits, never repeated, not even by a forked child."""

from __future__ import annotations

import os
import re

from evalpod.orm import new_id


def test_ids_are_prefixed_hex_and_unique() -> None:
    ids = [new_id("ev") for _ in range(5_000)]  # crosses several refills of the buffer
    assert all(re.fullmatch(r"ev_[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id("ev")  # the parent holds a buffer with ids still to hand out
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, "".join(new_id("ev") for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode()
    os.close(read)
    parent = "".join(new_id("ev") for _ in range(4))
    child_ids = set(re.findall(r"ev_[0-9a-f]{32}", child))
    assert len(child_ids) == 4
    assert not child_ids & set(re.findall(r"ev_[0-9a-f]{32}", parent))
