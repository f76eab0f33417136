"""The trusted scorer's metrics and the in-sandbox checker's readers, as plain functions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pytest

HARNESS = Path(__file__).resolve().parents[2] / "sandbox_images" / "harness"
sys.path.insert(0, str(HARNESS))

import dataset_check  # noqa: E402
import scorer  # noqa: E402


def test_squad_normalisation_exact_match_and_f1() -> None:
    assert scorer.exact_match("The Eiffel Tower!", "eiffel tower", {}) == 1.0
    assert scorer.exact_match("Paris", ["Lyon", "paris"], {}) == 1.0
    # "the" goes: 2 of 3 predicted tokens match, both expected ones are found.
    assert scorer.f1("the big red dog", "red dog", {}) == pytest.approx(0.8)
    assert scorer.f1("cat", {"text": ["dog", "cat"]}, {}) == 1.0
    assert scorer.f1("", "dog", {}) == 0.0


def test_multiple_choice_accepts_index_letter_or_text() -> None:
    row = {"choices": ["red", "blue", "green"]}
    assert scorer.multiple_choice_accuracy("B", 1, row) == 1.0
    assert scorer.multiple_choice_accuracy(1, "blue", row) == 1.0
    assert scorer.multiple_choice_accuracy("Blue", "blue", {}) == 1.0
    assert scorer.multiple_choice_accuracy("red", "blue", row) == 0.0


def _hidden(tmp_path: Path) -> Path:
    table = pa.table({"id": ["a", "b", "c", "d"], "answer": ["x", "y", "z", "w"]})
    path = tmp_path / "test.arrow"
    dataset_check.write_stream(table, str(path))
    return path


def test_missing_predictions_score_zero_and_stderr_comes_from_lm_eval(tmp_path: Path) -> None:
    options = {"metric": "exact_match", "id_column": "id", "column": "answer",
               "hidden_path": str(_hidden(tmp_path))}
    result = scorer.score(options, {"a": "x", "b": "y", "zz": "q"})
    assert result["exact_match"] == 0.5 and result["rows"] == 4
    assert result["predicted_rows"] == 2 and result["unknown_ids"] == 1
    assert result["exact_match_stderr"] == pytest.approx((1 / 3) ** 0.5 / 2)


def test_corpus_metric_from_lm_eval(tmp_path: Path) -> None:
    options = {"metric": "chrf", "id_column": "id", "column": "answer",
               "hidden_path": str(_hidden(tmp_path))}
    perfect = scorer.score(options, {"a": "x", "b": "y", "c": "z", "d": "w"})
    assert perfect["chrf"] == pytest.approx(100.0)


def test_unknown_metric_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        scorer.score({"metric": "vibes", "id_column": "id", "column": "answer",
                      "hidden_path": str(_hidden(tmp_path))}, {})


def test_check_splits_hidden_columns_and_generates_ids(tmp_path: Path) -> None:
    source = tmp_path / "upload.jsonl"
    source.write_text("".join(json.dumps({"q": f"q{i}", "a": str(i)}) + "\n" for i in range(3)))
    report = dataset_check.run_check({"options": {
        "input_path": str(source), "format": "jsonl", "hidden_columns": ["a"],
        "export_dir": str(tmp_path / "out"), "split": "test"}})
    assert report["ok"] and report["files"].keys() == {"public/test.arrow", "hidden/test.arrow"}
    assert [f["code"] for f in report["findings"]] == ["IDS_GENERATED"]
    public = pa.ipc.open_stream(pa.memory_map(str(tmp_path / "out/public/test.arrow"))).read_all()
    assert public.column_names == ["q", "id"] and public.column("id").to_pylist() == ["0", "1", "2"]


def test_check_reports_the_line_of_a_bad_byte(tmp_path: Path) -> None:
    source = tmp_path / "upload.csv"
    source.write_bytes(b"id,t\n1,ok\n2,caf\xe9\n")
    report = dataset_check.run_check({"options": {"input_path": str(source), "format": "csv"}})
    assert not report["ok"]
    [finding] = report["findings"]
    assert finding["code"] == "BAD_ENCODING" and finding["line"] == 3
