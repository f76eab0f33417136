"""In-sandbox trusted scorer: predictions + the hidden answer column -> metrics.

Runs as a harness job of kind `score`, never beside the untrusted script: it reads
the hidden Arrow file of one dataset version and `/job/predictions.json` (the
script's predictions, `{row id: prediction}`, extracted by the host), and returns
the metric, its standard error and coverage. A row without a prediction scores 0,
so leaving out hard rows never raises a score.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

ItemMetric = Callable[[Any, Any, dict[str, Any]], float]
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: Any) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    lowered = str(text).lower()
    no_punct = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", no_punct).split())


def _references(answer: Any) -> list[Any]:
    """A hidden value may hold several acceptable answers (a list, or SQuAD's dict)."""
    if isinstance(answer, dict) and "text" in answer:
        answer = answer["text"]
    if isinstance(answer, list | tuple):
        return list(answer) or [""]
    return [answer]


def exact_match(prediction: Any, answer: Any, row: dict[str, Any]) -> float:
    return max(float(normalize_answer(prediction) == normalize_answer(ref))
               for ref in _references(answer))


def _token_f1(prediction: Any, reference: Any) -> float:
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: Any, answer: Any, row: dict[str, Any]) -> float:
    """SQuAD-style token F1, the best over the acceptable answers."""
    return max(_token_f1(prediction, ref) for ref in _references(answer))


def accuracy(prediction: Any, answer: Any, row: dict[str, Any]) -> float:
    """Strict equality after turning both into text (labels, numbers, booleans)."""
    return max(float(str(prediction).strip() == str(ref).strip()) for ref in _references(answer))


def _choice_index(value: Any, choices: Sequence[Any] | None) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if len(text) == 1 and text.upper() in string.ascii_uppercase:
        return string.ascii_uppercase.index(text.upper())
    if choices is not None:
        for index, choice in enumerate(choices):
            if normalize_answer(choice) == normalize_answer(text):
                return index
    return None


def multiple_choice_accuracy(prediction: Any, answer: Any, row: dict[str, Any]) -> float:
    """The predicted option (index, letter or option text) is the answer's option.

    Option texts compare after SQuAD normalisation; indices and letters need the row's
    `choices` (when the hidden data carries them) to compare with a text answer.
    """
    if normalize_answer(prediction) == normalize_answer(answer):
        return 1.0
    choices = row.get("choices")
    predicted = _choice_index(prediction, choices if isinstance(choices, list) else None)
    expected = _choice_index(answer, choices if isinstance(choices, list) else None)
    return float(predicted is not None and predicted == expected)


ITEM_METRICS: dict[str, ItemMetric] = {
    "exact_match": exact_match,
    "f1": f1,
    "accuracy": accuracy,
    "multiple_choice_accuracy": multiple_choice_accuracy,
}
# Corpus-level metrics taken from lm-eval (sacrebleu underneath): pairs of (reference, prediction).
CORPUS_METRICS = ("bleu", "chrf")


def read_hidden(path: str) -> pa.Table:
    with pa.memory_map(path) as source:
        return pa.ipc.open_stream(source).read_all()


def _item_scores(metric: str, table: pa.Table, id_column: str, column: str,
                 predictions: dict[str, Any]) -> list[float]:
    score = ITEM_METRICS[metric]
    scores = []
    for row in table.to_pylist():
        row_id = str(row[id_column])
        if row_id not in predictions:
            scores.append(0.0)
            continue
        scores.append(score(predictions[row_id], row[column], row))
    return scores


def _corpus_score(metric: str, table: pa.Table, id_column: str, column: str,
                  predictions: dict[str, Any]) -> float:
    from lm_eval.api import metrics as lm_metrics

    pairs = [(str(_references(row[column])[0]), str(predictions.get(str(row[id_column]), "")))
             for row in table.to_pylist()]
    return float(getattr(lm_metrics, metric)(pairs))


def score(options: dict[str, Any], predictions: dict[str, Any]) -> dict[str, Any]:
    """Metrics of `predictions` ({row id: prediction}) against the hidden column."""
    metric = str(options["metric"])
    id_column, column = str(options["id_column"]), str(options["column"])
    table = read_hidden(str(options["hidden_path"]))
    if column not in table.column_names:
        raise ValueError(f"the hidden data has no column {column!r}")
    ids = {str(v) for v in table.column(id_column).to_pylist()}
    covered = sum(1 for key in predictions if key in ids)
    result: dict[str, Any] = {"rows": table.num_rows, "predicted_rows": covered,
                              "unknown_ids": len(predictions) - covered}
    if metric in CORPUS_METRICS:
        result[metric] = _corpus_score(metric, table, id_column, column, predictions)
        return result
    if metric not in ITEM_METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    from lm_eval.api.metrics import mean, mean_stderr

    scores = _item_scores(metric, table, id_column, column, predictions)
    result[metric] = float(mean(scores))
    result[f"{metric}_stderr"] = float(mean_stderr(scores)) if len(scores) > 1 else None
    return result


def run_scorer(spec: dict[str, Any]) -> dict[str, Any]:
    options = dict(spec.get("options") or {})
    with open(str(options.get("predictions_path", "/job/predictions.json")),
              encoding="utf-8") as handle:
        predictions = json.load(handle)
    if not isinstance(predictions, dict):
        raise TypeError("predictions must be an object keyed by row id")
    return score(options, {str(k): v for k, v in predictions.items()})
