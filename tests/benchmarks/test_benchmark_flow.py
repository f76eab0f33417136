"""The whole flow: a QA dataset with a hidden answer column, a benchmark on it, runs on two
models, the leaderboard, and a gate only the benchmark's runs can open."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalpod.cli.dataset_cmds import render_leaderboard
from evalpod.db import get_database
from evalpod.keys import Role, create_key
from evalpod.registry import register_model
from tests.datasets.conftest import DataStack

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "benchmark"
RUN_TIMEOUT_S = 900


@pytest.fixture(scope="session")
def second_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-gpt2 with other random weights: a second model that answers differently."""
    dest = tmp_path_factory.mktemp("models") / "tiny-gpt2-seed1"
    subprocess.run([sys.executable, str(ROOT / "sandbox_images" / "tiny_model.py"), str(dest),
                    "--seed", "1"], check=True, capture_output=True, timeout=300)
    return dest


async def test_benchmark_leaderboard_and_gate(datastack: DataStack,
                                              second_model_dir: Path) -> None:
    import httpx

    # The example script reads data["quiz"]: each session's stack has a fresh database.
    name, bench = "quiz", f"quiz-bench-{int(time.time() * 1000) % 10**8}"
    settings = datastack.settings
    async with get_database(settings.database_dsn()).session() as session:
        await register_model(session, second_model_dir, "tiny-gpt2-b", model_id="tiny-gpt2-b")
        _, admin_key = await create_key(session, "acme", Role.admin)
    admin = httpx.AsyncClient(base_url=datastack.stack.url + "/api/v1", timeout=60,
                              headers={"Authorization": f"Bearer {admin_key}"})
    try:
        await datastack.ready(name, (EXAMPLE / "quiz.jsonl").read_bytes(),
                              hidden_column="answer")
        created = await admin.post("/benchmarks", json={
            "name": bench, "script": (EXAMPLE / "predict_quiz.py").read_text(),
            "datasets": [f"{name}@1"], "primary_metric": "multiple_choice_accuracy",
            "scorer": {"metric": "multiple_choice_accuracy", "dataset": name,
                       "column": "answer"},
            "config": {"timeout_s": 600, "memory_mb": 2048}})
        assert created.status_code == 201, created.text
        assert created.json()["version"] == 1 and created.json()["script_sha256"]
        runs = await admin.post(f"/benchmarks/{bench}/runs",
                                json={"models": ["tiny-gpt2", "tiny-gpt2-b"]})
        assert runs.status_code == 202, runs.text
        # Right after `benchmarks run` the board is empty: it says why (the CLI's query).
        tagged = await admin.get("/evaluations", params={"tag": f"benchmark:{bench}@1",
                                                         "limit": 200})
        assert tagged.status_code == 200, tagged.text
        early = (await admin.get(f"/benchmarks/{bench}/leaderboard")).json()
        said = render_leaderboard(early, tagged.json()["items"]).splitlines()[-1]
        assert said == f"2 runs in progress: evalpod list --tag benchmark={bench}@1", said
        records = {}
        for run in runs.json()["runs"]:
            records[run["model_id"]] = await datastack.stack.wait_for(
                run["evaluation_id"], {"succeeded"}, timeout_s=RUN_TIMEOUT_S)
        for record in records.values():
            metrics = record["result"]["metrics"]
            assert metrics["rows"] == 12 and metrics["predicted_rows"] == 12
            assert "predictions" not in record["result"]["script"]
        board = (await admin.get(f"/benchmarks/{bench}/leaderboard")).json()
        print(render_leaderboard(board))  # the example's leaderboard, with `pytest -s`
        assert [row["rank"] for row in board["rows"]] == [1, 2]
        scores = [row["score"] for row in board["rows"]]
        assert scores == sorted(scores, reverse=True)
        assert all(row["stderr"] is not None for row in board["rows"])
        best, worst = board["rows"][0], board["rows"][1]
        release = {"target_stage": "production", "reason": "won the quiz"}
        gate = {"required": [{"benchmark": f"{bench}@1",
                              "min_scores": {"multiple_choice_accuracy": best["score"]}}]}
        for model in (best["model_id"], worst["model_id"]):
            assert (await admin.put(f"/models/{model}/policy", json=gate)).status_code == 200
        winner = await admin.post(f"/models/{best['model_id']}/promote", json=release)
        assert winner.status_code == 200, winner.text
        if worst["score"] < best["score"]:
            loser = await admin.post(f"/models/{worst['model_id']}/promote", json=release)
            assert loser.status_code == 409
            assert loser.json()["error"]["code"] == "PROMOTION_BLOCKED"
        # A submitter's script on the loser, tagged with the benchmark and claiming a
        # perfect score, opens nothing: the gate still reads the benchmark's own run.
        perfect = {"required": [{"benchmark": f"{bench}@1",
                                 "min_scores": {"multiple_choice_accuracy": 1.0}}]}
        await admin.put(f"/models/{worst['model_id']}/policy", json=perfect)
        forged = await datastack.stack.submit(
            "def evaluate_model(model):\n    return {'multiple_choice_accuracy': 1.0}\n",
            model_id=worst["model_id"], tags={"eval": bench, "benchmark": f"{bench}@1"})
        await datastack.stack.wait_for(forged.json()["evaluation_id"], {"succeeded"},
                                       timeout_s=RUN_TIMEOUT_S)
        blocked = await admin.post(f"/models/{worst['model_id']}/promote", json=release)
        assert blocked.status_code == 409, blocked.text
        [failure] = blocked.json()["error"]["detail"]["failures"]
        assert failure["actual"] == worst["score"]
        assert failure["evaluation_id"] == worst["evaluation_id"]
    finally:
        await admin.aclose()
