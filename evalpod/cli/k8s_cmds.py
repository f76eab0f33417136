"""CLI commands of the `kubernetes` backend: `evalpod k8s manifests`."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml

from evalpod.settings import get_settings
from orchestrator.kubernetes.manifests import ManifestOptions, MissingModelVolume, build_manifests
from orchestrator.sandbox import ResourceLimits, SandboxJob

STUB_MODEL = "stub"

k8s_app = typer.Typer(no_args_is_help=True, help="The Kubernetes sandbox backend.")

_HEADER = """\
# What the kubernetes backend applies for one evaluation, in order:
# 1. the Job, suspended, so no pod starts yet;
# 2. the Secret and NetworkPolicy, each with an ownerReference to the Job's uid
#    (known only once the Job exists; shown here as <job-uid>);
# 3. a merge patch {"spec": {"suspend": false}} that lets the pod start.
"""


def render_manifests(job: SandboxJob, options: ManifestOptions) -> str:
    documents = build_manifests(job, options, job_uid="<job-uid>").documents()
    body: str = yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True)
    return _HEADER + body


@k8s_app.command("manifests")
def manifests(
    script: Path = typer.Option(
        ...,
        "--script",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Evaluation script defining evaluate_model(model).",
    ),
    model: str = typer.Option(..., "--model", help=f"Model id ('{STUB_MODEL}': no model)."),
    gpus: int = typer.Option(0, "--gpus", min=0, help="GPUs for the pod."),
    timeout: float | None = typer.Option(None, "--timeout", help="Run timeout in seconds."),
    memory_mb: int | None = typer.Option(None, "--memory-mb", help="Memory limit in MiB."),
    job_id: str = typer.Option("preview", "--job-id", help="Evaluation id to name objects."),
) -> None:
    """Print the multi-document YAML the backend would apply for one evaluation."""
    settings = get_settings()
    job = SandboxJob(
        job_id=job_id,
        script=script.read_text(encoding="utf-8"),
        model_id=model,
        model_path=None if model == STUB_MODEL else Path("/model"),
        limits=ResourceLimits(
            timeout_s=timeout or settings.default_timeout_s,
            memory_mb=memory_mb or settings.default_memory_mb,
            gpu_indices=tuple(range(gpus)),
        ),
    )
    try:
        text = render_manifests(job, ManifestOptions.from_settings(settings))
    except MissingModelVolume as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(k8s_app, name="k8s")
