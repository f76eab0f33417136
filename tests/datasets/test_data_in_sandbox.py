"""Data in the sandbox: datasets named at submit reach evaluate_model(model, data); hidden
columns never reach a process that runs untrusted code."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from evalpod.datasets.runtime import DataBackend, EvaluationData, MountedVersion
from evalpod.datasets.storage import datasets_root
from orchestrator.local.backend import LocalBackend
from orchestrator.sandbox import ResourceLimits, SandboxJob
from tests.datasets.conftest import DataStack

pytestmark = pytest.mark.slow

SECRET = f"ANSWER-{uuid.uuid4().hex[:10]}"
ROWS = [{"id": f"r{i}", "question": f"question {i}", "answer": f"{SECRET}-{i}"}
        for i in range(5)]
DATA_SCRIPT = """
def evaluate_model(model, data):
    ds = data["{name}"]
    return {{"rows": len(ds), "columns": ds.column_names, "first": ds[0]["question"],
             "kind": type(ds).__name__}}
"""
# Reads everything it can reach: every file outside /proc, /sys and /dev, its environment,
# and every readable mapping of its own memory. Run straight in the sandbox with the
# runtime guard off (as `evalpod sandbox run --no-guard` does): static analysis and the
# guard would stop it early, and the point is that nothing is there to find.
SEARCH_SCRIPT = """
import os
import sys

CHUNK = 1 << 20
# The interpreter and system trees are the host's own read-only files (gigabytes of
# libraries); everything else in the sandbox's root is searched.
SKIP = {"/proc", "/sys", "/dev", "/usr", os.path.realpath(sys.prefix),
        os.path.realpath(sys.base_prefix)}


def contains(read):
    # The needle is never whole in this process: its halves are separate constants, so
    # only a copy of the real answer can match.
    keep = len(FIRST) + len(SECOND)
    tail = b""
    while True:
        chunk = read(CHUNK)
        if not chunk:
            return False
        buf = tail + chunk
        at = buf.find(FIRST)
        while at != -1:
            if buf[at + len(FIRST):at + keep] == SECOND:
                return True
            at = buf.find(FIRST, at + 1)
        tail = buf[-keep:]


def evaluate_model(model, data):
    hits, files = [], 0
    for root, dirs, names in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(root, d)) not in SKIP]
        for name in names:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as handle:
                    if contains(handle.read):
                        hits.append(path)
                files += 1
            except OSError:
                pass
    env = [k for k, v in os.environ.items() if FIRST.decode() in v]
    memory = 0
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            start, end = (int(x, 16) for x in span.split("-"))
            if "r" not in perms or end - start > 256 * CHUNK:
                continue
            try:
                mem.seek(start)
                left = [end - start]

                def read(size, left=left):
                    size = min(size, left[0])
                    left[0] -= size
                    return mem.read(size) if size else b""

                if contains(read):
                    hits.append("memory:" + line.strip())
                memory += 1
            except (OSError, ValueError, OverflowError):
                pass
    seen = [row for row in data["{name}"]]
    return {"hits": hits, "files": files, "env": env, "memory_regions": memory,
            "rows": len(seen), "columns": data["{name}"].column_names}
"""


async def test_script_receives_datasets_and_old_signature_still_works(datastack: DataStack
                                                                       ) -> None:
    name = f"qa-{uuid.uuid4().hex[:6]}"
    await datastack.ready(name, "".join(json.dumps(r) + "\n" for r in ROWS).encode(),
                          hidden_column="answer")
    response = await datastack.stack.submit(DATA_SCRIPT.format(name=name),
                                            datasets=[f"{name}@1"])
    assert response.status_code == 202, response.text
    evaluation_id = response.json()["evaluation_id"]
    try:
        record = await datastack.stack.wait_for(evaluation_id, {"succeeded"}, timeout_s=900)
    except AssertionError as exc:
        logs = await datastack.http.get(f"/evaluations/{evaluation_id}/logs",
                                        headers={"Accept": "text/event-stream"})
        raise AssertionError(f"{exc}\n--- log ---\n{logs.text[-6000:]}") from None
    assert record["result"] == {"rows": 5, "columns": ["id", "question"],
                                "first": "question 0", "kind": "Dataset"}
    # Loading the data started no thread that Landlock (below ABI 8) would leave free.
    log = (await datastack.http.get(f"/evaluations/{evaluation_id}/logs",
                                    headers={"Accept": "text/event-stream"})).text
    enforced = re.findall(r"Landlock ABI \d+ enforced \(\d+ rules, "
                          r"(every thread|\d+ earlier thread)", log)
    assert enforced, log[-3000:]
    assert set(enforced) <= {"every thread", "0 earlier thread"}, enforced
    plain = await datastack.stack.submit("def evaluate_model(model):\n    return {'ok': 1}\n")
    done = await datastack.stack.wait_for(plain.json()["evaluation_id"], {"succeeded"},
                                          timeout_s=240)
    assert done["result"] == {"ok": 1}


async def test_unknown_dataset_version_is_400(datastack: DataStack) -> None:
    response = await datastack.stack.submit("def evaluate_model(model, data):\n    return {}\n",
                                            datasets=["no-such-dataset@1"])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "DATASET_NOT_FOUND"


async def test_hidden_answers_are_nowhere_the_script_can_reach(datastack: DataStack) -> None:
    name = f"hidden-{uuid.uuid4().hex[:6]}"
    version = await datastack.ready(
        name, "".join(json.dumps(r) + "\n" for r in ROWS).encode(), hidden_column="answer")
    stored = next(datasets_root(datastack.settings).glob(f"*/{version['id']}"))
    assert SECRET.encode() in (stored / "hidden" / "test.arrow").read_bytes()  # it exists
    mounted = MountedVersion(name=name, version_id=version["id"],
                             public_dir=stored / "public", data_sha256=version["data_sha256"],
                             hidden_dir=stored / "hidden", id_column="id", split="test")
    backend = DataBackend(LocalBackend(datastack.settings), EvaluationData([mounted]))
    halves = f"FIRST = {SECRET[:8].encode()!r}\n# (apart)\nSECOND = {SECRET[8:].encode()!r}\n"
    script = halves + SEARCH_SCRIPT.replace("{name}", name)
    # Without the runtime guard or Landlock (which would stop the walk at `/`): the mounts
    # alone must not hold the answers.
    job = SandboxJob(job_id=f"search-{uuid.uuid4().hex[:8]}", script=script, guard=False,
                     landlock="off", limits=ResourceLimits(timeout_s=120, memory_mb=1024))
    lines: list[str] = []

    async def keep(line: str) -> None:
        lines.append(line)

    outcome = await backend.run(job, keep)
    assert outcome.status == "succeeded", (outcome.violation, outcome.error, lines[-20:])
    result = outcome.result or {}
    assert result["rows"] == 5 and result["columns"] == ["id", "question"]
    assert result["files"] > 5 and result["memory_regions"] > 10  # it did search
    assert result["hits"] == [] and result["env"] == []
    # The same search does find the answers when they are mounted (a positive control).
    leaked = MountedVersion(name="leak", version_id="leak", public_dir=stored / "hidden",
                            data_sha256="", hidden_dir=None, id_column="id", split="test")
    control = DataBackend(LocalBackend(datastack.settings), EvaluationData([mounted, leaked]))
    found = await control.inner.run(control.with_data(job.model_copy(
        update={"job_id": job.job_id + "-c"})), keep)
    assert found.status == "succeeded", (found.violation, found.error, lines[-20:])
    assert "/data/leak/test.arrow" in (found.result or {})["hits"]


def test_data_mount_targets_are_confined(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from orchestrator.sandbox import DataMount

    DataMount(source=tmp_path, target="/data/squad-mini")
    for bad in ("/etc", "/data/../etc", "/model", "/data/a/b"):
        with pytest.raises(ValidationError):
            DataMount(source=tmp_path, target=bad)
