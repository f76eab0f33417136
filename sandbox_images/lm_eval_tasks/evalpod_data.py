"""lm-eval `custom_dataset` loader: JSONL splits named relative to this directory.

lm-eval hands `dataset_kwargs.data_files` to `datasets`, which resolves relative names
against the current directory; resolving them here instead makes the task directory work
wherever it is mounted (`/opt/evalpod/tasks` in the sandbox, the source tree in tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets

HERE = Path(__file__).resolve().parent


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_jsonl(data_files: dict[str, str], **_: Any) -> datasets.DatasetDict:
    """One split per `data_files` entry; extra lm-eval metadata keys are ignored."""
    return datasets.DatasetDict(
        {
            split: datasets.Dataset.from_list(_read_jsonl(HERE / name))
            for split, name in data_files.items()
        }
    )
