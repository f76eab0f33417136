"""datasets, dataset versions, benchmarks; evaluations name their data and benchmark

Also rewrites model evaluation policies: a requirement used to be met by any script
tagged with its name; it now names an lm-eval task (or a benchmark version), which a
submitter's own script can never satisfy.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64),
                  sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("modality", sa.String(32), nullable=False),
        sa.Column("task_type", sa.String(64), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.UniqueConstraint("tenant_id", "name", name="uq_datasets_tenant_name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("dataset_id", sa.String(64),
                  sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant_id", sa.String(64),
                  sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("file_format", sa.String(16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("split", sa.String(64), nullable=False),
        sa.Column("id_column", sa.String(128), nullable=False),
        sa.Column("hidden_columns", sa.JSON(), nullable=False),
        sa.Column("storage_path", sa.Text(), nullable=False),
        sa.Column("data_sha256", sa.String(64), nullable=True),
        sa.Column("hidden_sha256", sa.String(64), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("splits", sa.JSON(), nullable=True),
        sa.Column("columns", sa.JSON(), nullable=True),
        sa.Column("statistics", sa.JSON(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("queue_job_id", sa.String(128), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_version"),
    )
    op.create_index("ix_dataset_versions_dataset_id", "dataset_versions", ["dataset_id"])
    op.create_table(
        "benchmarks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("script", sa.Text(), nullable=True),
        sa.Column("script_sha256", sa.String(64), nullable=True),
        sa.Column("tasks", sa.JSON(), nullable=True),
        sa.Column("num_fewshot", sa.Integer(), nullable=False),
        sa.Column("task_limit", sa.Integer(), nullable=True),
        sa.Column("dataset_versions", sa.JSON(), nullable=False),
        sa.Column("scorer", sa.JSON(), nullable=True),
        sa.Column("primary_metric", sa.String(128), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("analysis", sa.JSON(), nullable=True),
        sa.Column("tenant_id", sa.String(64),
                  sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_benchmarks_version"),
    )
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("dataset_versions", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("benchmark_id", sa.String(64), nullable=True))
        batch.create_foreign_key("fk_evaluations_benchmark_id", "benchmarks",
                                 ["benchmark_id"], ["id"])
        batch.create_index("ix_evaluations_benchmark_id", ["benchmark_id"])
    _migrate_policies()


def migrated_requirement(requirement: dict[str, Any]) -> dict[str, Any]:
    """A requirement met by `tags.eval == name` becomes one met by the lm-eval task `name`.

    Fail closed: if no such task exists the gate stays shut until an admin names a
    benchmark version instead; it never again opens for a submitter's own script.
    """
    if "name" not in requirement or "benchmark" in requirement or "lm_eval_task" in requirement:
        return requirement
    rest = {k: v for k, v in requirement.items() if k != "name"}
    return {"lm_eval_task": requirement["name"], **rest}


def _migrate_policies() -> None:
    models = sa.table("models", sa.column("id", sa.String), sa.column("evaluation_policy", sa.JSON))
    connection = op.get_bind()
    for model_id, policy in connection.execute(sa.select(models.c.id,
                                                         models.c.evaluation_policy)):
        if not isinstance(policy, dict) or not policy.get("required"):
            continue
        updated = {**policy, "required": [migrated_requirement(r) for r in policy["required"]]}
        if updated != policy:
            connection.execute(models.update().where(models.c.id == model_id)
                               .values(evaluation_policy=updated))


def downgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_index("ix_evaluations_benchmark_id")
        batch.drop_constraint("fk_evaluations_benchmark_id", type_="foreignkey")
        batch.drop_column("benchmark_id")
        batch.drop_column("dataset_versions")
    op.drop_table("benchmarks")
    op.drop_index("ix_dataset_versions_dataset_id", "dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
