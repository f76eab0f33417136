"""Errors of the dataset registry (one `EvalpodError` each)."""

from __future__ import annotations

from evalpod.errors import EvalpodError


class DatasetNotFound(EvalpodError):
    """A submission names a dataset version that does not exist, is not ready or not yours."""

    code = "DATASET_NOT_FOUND"
    status_code = 400
    default_hint = "List the datasets you can use with GET /api/v1/datasets; name ready " \
                   "versions as name@version."


class DatasetNotFoundHttp(DatasetNotFound):
    """An unknown dataset or version in a registry path: 404."""

    status_code = 404


class DatasetVersionExists(EvalpodError):
    code = "DATASET_VERSION_EXISTS"
    status_code = 409
    default_hint = "Versions are immutable: upload under a new version."


class DatasetExists(EvalpodError):
    code = "DATASET_EXISTS"
    status_code = 409
    default_hint = "Dataset names are unique per tenant; upload a new version instead."


class StorageFull(EvalpodError):
    code = "STORAGE_FULL"
    status_code = 507
    default_hint = "Delete dataset versions you no longer need, or ask an admin for more space."


class DatasetInUse(EvalpodError):
    code = "DATASET_IN_USE"
    status_code = 409
    default_hint = "The version is not ready yet; wait until its check finishes."
