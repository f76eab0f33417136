"""In-sandbox data hand-off: the mounted dataset versions as Hugging Face `datasets`.

Each version is mounted read-only at `/data/<name>/` holding one Arrow stream file
per split; they are memory-mapped, never copied. Hidden columns are not in them:
they were split off when the version was made.
"""

from __future__ import annotations

import os
from typing import Any


def load_data(spec: dict[str, Any]) -> dict[str, Any]:
    """{dataset name: Dataset} (a DatasetDict when a version has several splits).

    `spec["data_row_limit"]` keeps only the first rows (the validation trial run).
    """
    mounted: dict[str, str] = dict(spec.get("datasets") or {})
    if not mounted:
        return {}
    import datasets

    datasets.disable_progress_bars()
    limit = spec.get("data_row_limit")
    data: dict[str, Any] = {}
    for name, path in sorted(mounted.items()):
        splits = {}
        for entry in sorted(os.listdir(path)):
            if entry.endswith(".arrow"):
                split = datasets.Dataset.from_file(os.path.join(path, entry), in_memory=False)
                if limit is not None:
                    split = split.select(range(min(int(limit), len(split))))
                splits[entry[: -len(".arrow")]] = split
        if len(splits) == 1:
            data[name] = next(iter(splits.values()))
        else:
            data[name] = datasets.DatasetDict(splits)
    return data
