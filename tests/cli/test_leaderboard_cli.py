"""`evalpod leaderboard`: columns line up whatever the widths, and runs not on the board
are counted under it (the new user's board was empty right after `benchmarks run`)."""

from __future__ import annotations

from typing import Any

import pytest

from evalpod.cli.dataset_cmds import render_leaderboard


def _row(rank: int | None, model: str, score: float | None, stderr: float | None,
         evaluation: str) -> dict[str, Any]:
    return {"rank": rank, "model_id": model, "score": score, "stderr": stderr,
            "evaluation_id": evaluation}


def _board(metric: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"benchmark": "quiz-bench@1", "primary_metric": metric, "direction": "higher",
            "rows": rows}


NARROW = [_row(1, "a", 0.5, None, "ev_1")]
WIDE = [_row(1, "tiny-gpt2-with-a-very-long-registered-name", 1234567.125, 0.00123,
             "ev_0123456789abcdef0123456789"),
        _row(None, "b", None, None, "ev_2"),
        _row(2, "tiny-gpt2", 0.25, 12.5, "ev_3")]


@pytest.mark.parametrize("metric", ["f1", "exact_match_with_a_long_name"])
@pytest.mark.parametrize("rows", [NARROW, WIDE], ids=["narrow", "wide"])
def test_values_sit_under_their_headers(metric: str, rows: list[dict[str, Any]]) -> None:
    header, *body = render_leaderboard(_board(metric, rows)).splitlines()[1:]
    metric_end = header.index(metric.upper()) + len(metric)
    stderr_end = header.index("STDERR") + len("STDERR")
    evaluation_at = header.index("EVALUATION")
    model_at = header.index("MODEL")
    for line, row in zip(body, rows, strict=True):
        score = "—" if row["score"] is None else f"{row['score']:.4f}"
        assert line[model_at:].startswith(row["model_id"]), (header, line)
        assert line[:metric_end].endswith(score), (header, line)
        if row["stderr"] is not None:
            assert line[:stderr_end].endswith(f"±{row['stderr']:.4f}"), (header, line)
        assert line[evaluation_at:] == row["evaluation_id"], (header, line)


def _run(model: str, status: str) -> dict[str, Any]:
    return {"model_id": model, "status": status, "evaluation_id": f"ev_{model}"}


def test_an_empty_board_says_runs_are_in_progress() -> None:
    runs = [_run("a", "pending_validation"), _run("b", "executing")]
    text = render_leaderboard(_board("f1", []), runs)
    assert "no succeeded runs yet" in text
    assert text.splitlines()[-1] == (
        "2 runs in progress: evalpod list --tag benchmark=quiz-bench@1")


def test_failed_runs_of_models_not_on_the_board_are_counted() -> None:
    runs = [_run("a", "succeeded"), _run("a", "failed"),  # a has a row: its failure is old
            _run("b", "killed"), _run("c", "validated")]
    text = render_leaderboard(_board("f1", NARROW), runs)
    assert text.splitlines()[-1] == (
        "1 run in progress, 1 failed: evalpod list --tag benchmark=quiz-bench@1")


def test_nothing_is_added_when_every_run_is_on_the_board() -> None:
    text = render_leaderboard(_board("f1", NARROW), [_run("a", "succeeded")])
    assert "evalpod list" not in text
