"""The task registry reads YAML only and lists the shipped tasks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sandbox_images.lm_eval_registry import DEFAULT_TASK_DIR, list_tasks


def test_lists_the_shipped_tasks() -> None:
    tasks = {t.name: t for t in list_tasks()}
    assert set(tasks) >= {"evalpod_arith", "evalpod_capitals", "evalpod_sentences"}
    assert tasks["evalpod_arith"].output_type == "multiple_choice"
    assert tasks["evalpod_capitals"].output_type == "generate_until"
    assert tasks["evalpod_sentences"].output_type == "loglikelihood_rolling"
    assert tasks["evalpod_arith"].num_rows == 40
    assert tasks["evalpod_capitals"].num_rows == 30
    assert all(t.description and t.source == str(DEFAULT_TASK_DIR) for t in tasks.values())


def test_listing_tasks_imports_no_lm_eval() -> None:
    """The service never imports lm-eval; checked in a fresh interpreter, since other tests
    of this process (lm-eval identity) import it on purpose."""
    code = ("import sys\nfrom sandbox_images.lm_eval_registry import list_tasks\n"
            "assert list_tasks()\nassert 'lm_eval' not in sys.modules, 'lm_eval imported'\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_operator_dirs_are_merged_and_groups_skipped(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("output_type: generate_until\ntest_split: test\n")
    (tmp_path / "mine.yaml").write_text(
        "include: base.yaml\ntask: my_task\ntag: team\nprocess: !function utils.f\n"
    )
    (tmp_path / "group.yaml").write_text("group: g\ntask:\n  - my_task\n")
    (tmp_path / "broken.yaml").write_text("task: [unclosed\n")
    tasks = {t.name: t for t in list_tasks([tmp_path, DEFAULT_TASK_DIR])}
    assert tasks["my_task"].output_type == "generate_until"
    assert tasks["my_task"].tags == ["team"]
    assert tasks["my_task"].source == str(tmp_path)
    assert "evalpod_arith" in tasks and "g" not in tasks


def test_missing_dirs_are_skipped(tmp_path: Path) -> None:
    assert list_tasks([tmp_path / "nope"]) == []
