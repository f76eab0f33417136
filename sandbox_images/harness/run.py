"""In-sandbox entry point: `python -I run.py /job/spec.json` (or `--warm [MODEL]`: a warm
sandbox that waits for its job on stdin, see `_read_spec`).

Loads the model (or the stub), arms the runtime guard (`guard.py`), runs the job, writes a
`HarnessResult`-shaped JSON to the spec's result path. Exit code 0 only when the job
succeeded, 1 when it failed, 2 when the spec itself is unreadable, 86 when the guard's
record was tampered with. Runs with `-I`, so it puts its own directory on sys.path and
imports nothing of evalpod.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HARNESS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(HARNESS_DIR))
# `-I` ignores PYTHONDONTWRITEBYTECODE: without this, importing a task's helper module
# tries to create __pycache__ in a read-only mount, which the guard reports as a denial.
sys.dont_write_bytecode = True

import confinement  # noqa: E402
import script_module  # noqa: E402
from guard import RECORD_LOST_EXIT, RECORD_NAME, GuardHandle, arm, build_policy, record_header  # noqa: E402

# Set before any Hugging Face import: the sandbox has no network, and a library that
# tried to reach the hub would hang until its timeout instead of failing fast.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
# Landlock below ABI 8 confines the thread that enforces it and the threads started after,
# never one already running: the harness's own imports must start none. pyarrow's jemalloc
# starts a purging thread as it loads (`import datasets` for a job's data). Set, not
# defaulted: this is part of the confinement, not a preference.
THREADLESS_ENV = {"JE_ARROW_MALLOC_CONF": "background_thread:false"}
MAX_ERROR_CHARS = 4000
# Kinds that run code from a submission: the runtime guard is armed for them.
GUARDED_KINDS = ("script", "lm_eval")
SCRATCH_DIRS = ("/work", "/tmp", "/dev/shm")
DATA_DIR = "/data"
# orchestrator.sandbox.HarnessSpec's defaults; the harness cannot import it.
SPEC_DEFAULTS: dict[str, Any] = {
    "kind": "script",
    "script_path": "/job/script.py",
    "result_path": "/out/result.json",
    "model_path": "/model",
    "model_id": "stub",
    "shadow": False,
    "tasks": [],
    "task_include_path": None,
    "num_fewshot": 0,
    "limit": None,
    "seed": 1234,
    "device": "cpu",
    "datasets": {},
    "data_row_limit": None,
    "options": {},
    "guard": True,
    # Landlock for guarded kinds: "auto" (enforced where the kernel has it, else the job
    # runs without and its log says so), "required" (no Landlock: the job fails), "off".
    "landlock": "auto",
}
ArmGuard = Callable[[], None]


def _log(message: str) -> None:
    print(f"[evalpod] {message}", file=sys.stderr, flush=True)


def json_encoder() -> Callable[[Any], str]:
    """`json.dumps(value, allow_nan=False)` for the exact builtin types `to_json_value`
    and the harness build, made only of functions bound now. The script shares the
    `json` module (and `json.encoder`'s globals) with the harness and may rebind them;
    what this returns is out of its reach once bound before the script runs. Raises
    TypeError (another type), ValueError (NaN or an infinity)."""
    quote = json.encoder.encode_basestring_ascii
    int_repr, float_repr, isfinite, kind_of = int.__repr__, float.__repr__, math.isfinite, type
    items_of, join = dict.items, ", ".join

    def encode(value: Any) -> str:
        kind = kind_of(value)
        if value is None:
            return "null"
        if kind is bool:
            return "true" if value else "false"
        if kind is str:
            return quote(value)
        if kind is int:
            return int_repr(value)
        if kind is float:
            if not isfinite(value):
                raise ValueError("Out of range float values are not JSON compliant")
            return float_repr(value)
        if kind is dict:
            pairs = [(key, item) for key, item in items_of(value)]
            for key, _ in pairs:
                if kind_of(key) is not str:
                    raise TypeError("keys must be str")
            return "{" + join([quote(key) + ": " + encode(item) for key, item in pairs]) + "}"
        if kind is list or kind is tuple:
            return "[" + join([encode(item) for item in value]) + "]"
        raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")

    return encode


def result_writer(path: str, fd: int | None = None) -> Callable[[dict[str, Any]], None]:
    """A function writing the result to `path`, or through `fd` (opened empty before
    Landlock, which leaves the harness no write access to /out by path) from offset 0.
    Everything it uses is bound now, before the script runs. A second write (the
    fallback) pads with spaces over what a failed first one left: JSON allows trailing
    whitespace, and the guard denies the harness's own truncate. Raises OSError,
    TypeError/ValueError (not JSON) before the file is touched."""
    encode, fstat, pwrite, replace, open_ = json_encoder(), os.fstat, os.pwrite, os.replace, open

    def write(payload: dict[str, Any]) -> None:
        text = encode(payload)  # raises before the file is touched
        if fd is not None:
            data = text.encode("utf-8").ljust(fstat(fd).st_size, b" ")
            written = 0
            while written < len(data):
                written += pwrite(fd, data[written:], written)
            return
        tmp = path + ".tmp"
        with open_(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        replace(tmp, path)

    return write


def _write_result(path: str, payload: dict[str, Any], fd: int | None = None) -> None:
    """Write the result once (see `result_writer`)."""
    result_writer(path, fd)(payload)


def _error_payload(exc: BaseException, stage: str | None = None) -> dict[str, Any]:
    message = f"{type(exc).__name__}: {exc}"
    if stage is not None:
        message += f" (while {stage})"
    return {"ok": False, "error": message[:MAX_ERROR_CHARS], "error_type": type(exc).__name__}


def to_json_value(value: Any, where: str = "metrics") -> Any:
    """A JSON-safe copy of `value` built of exact builtin types (subclasses are read
    through their base type, never their own methods): NaN/inf become null,
    numpy/torch scalars plain numbers. Raises TypeError for anything else."""
    if value is None or isinstance(value, bool):
        return None if value is None else value is True
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        number = float.__float__(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dict):
        items = list(dict.items(value))
        if not all(isinstance(key, str) for key, _ in items):
            raise TypeError(f"{where} has a non-string key")
        plain = [(str.__str__(key), item) for key, item in items]
        return {key: to_json_value(item, f"{where}.{key}") for key, item in plain}
    if isinstance(value, list | tuple):
        items = list(list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value))
        return [to_json_value(item, f"{where}[{i}]") for i, item in enumerate(items)]
    scalar = getattr(value, "item", None)
    if callable(scalar):
        try:
            return to_json_value(scalar(), where)
        except (TypeError, ValueError, RuntimeError):
            pass
    raise TypeError(f"{where} is a {type(value).__name__}, not a JSON value")


def _load_model(spec: dict[str, Any]) -> Any:
    seed = int(spec.get("seed", 1234))
    if spec.get("model_path") is None:
        # Only `evalpod sandbox run` without --model: no model is involved at all.
        from stub_model import StubModel

        _log("no model: using the torch-free stub")
        return StubModel.load("stub", device="cpu", seed=seed)
    from model_handle import ModelHandle

    if spec.get("shadow"):
        _log(f"trial run: loading the shadow of {spec.get('model_id', '?')} (same architecture"
             " and tokenizer, scaled down, random weights)")
    else:
        _log(f"loading model {spec.get('model_id', '?')}")
    handle = ModelHandle.load(spec["model_path"], device=spec.get("device", "cpu"), seed=seed)
    _log(f"model loaded on {handle.device}")
    return handle


def _run_script(spec: dict[str, Any], arm_guard: ArmGuard) -> dict[str, Any]:
    source = spec.get("script")
    if not isinstance(source, str):
        source = Path(spec["script_path"]).read_text(encoding="utf-8")
    code = script_module.compile_script(source)
    model = _load_model(spec)
    data: dict[str, Any] | None = None
    if spec.get("datasets"):
        from data_loader import load_data

        data = load_data(spec)
    module = script_module.new_module()
    # Everything above is the harness's own work; from here on the script's code runs.
    arm_guard()
    exec(code, module.__dict__)
    evaluate = module.__dict__.get("evaluate_model")
    if not callable(evaluate):
        raise TypeError("the script does not define evaluate_model(model)")
    if _takes_data(evaluate) and not (data is None and _data_has_default(evaluate)):
        metrics = evaluate(model, Datasets(data or {}))
    else:
        metrics = evaluate(model)
    if not isinstance(metrics, dict):
        raise TypeError(f"evaluate_model must return a dict, got {type(metrics).__name__}")
    return dict(to_json_value(metrics))


def _takes_data(function: Any) -> bool:
    """evaluate_model(model, data): a second positional parameter receives the datasets."""
    import inspect

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)


def _data_has_default(function: Any) -> bool:
    """evaluate_model(model, data=None): without datasets, `data` keeps its default."""
    import inspect

    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    return len(parameters) >= 2 and parameters[1].default is not parameters[1].empty


class MissingDataset(KeyError):
    """`data[name]` for a dataset the evaluation did not name (a KeyError, read as one)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Datasets(dict):  # type: ignore[type-arg]
    """The `data` argument: {dataset name: Dataset}; a name not mounted says what is."""

    def __missing__(self, key: object) -> Any:
        named = ", ".join(sorted(map(str, self))) or "no datasets"
        raise MissingDataset(
            f"data[{key!r}]: this evaluation has no such dataset (it names {named}); name "
            "the dataset version at submit: evalpod submit --dataset NAME@VERSION, or "
            "datasets=['NAME@VERSION'] in the SDK")


def _run(spec: dict[str, Any], arm_guard: ArmGuard) -> dict[str, Any]:
    kind = spec.get("kind", "script")
    if kind == "lm_eval":
        from lm_eval_job import load_lm, run_lm_eval

        lm = load_lm(spec)
        # lm-eval and its tasks are the operator's code, but a task may carry Python
        # (`!function`): guarded as well.
        arm_guard()
        return dict(to_json_value(run_lm_eval(spec, lm)))
    if kind == "dataset_check":
        from dataset_check import describe, run_check

        report = run_check(spec)
        _log(describe(report).rstrip() or "no findings")
        return dict(to_json_value(report))
    if kind == "score":
        from scorer import run_scorer

        return dict(to_json_value(run_scorer(spec)))
    return _run_script(spec, arm_guard)


def _guard_arming(spec: dict[str, Any], result_path: str,
                  protected_fds: list[int] | None = None) -> tuple[ArmGuard, list[GuardHandle]]:
    """A function that confines the job with Landlock and arms the guard (once), and
    where the guard's handle lands.

    The record file is opened now, before anything of the job runs, and gets its header
    line (`guard.record_header`): the host reads an empty or cut record as tampered.
    Landlock comes first: its ctypes calls are the harness's own, before the audit hook
    watches. The guard denies the script any event naming the record's fd or one of
    `protected_fds` (read at arming: the result's, opened after the record).
    """
    armed: list[GuardHandle] = []
    confine = confinement.confiner(spec, HARNESS_DIR, DATA_DIR, SCRATCH_DIRS)
    if not spec.get("guard", True) or spec.get("kind", "script") not in GUARDED_KINDS:
        def unguarded() -> None:
            confine()
            _log("runtime guard off")

        return unguarded, armed
    out_dir = os.path.dirname(os.path.abspath(result_path))
    record_path = os.path.join(out_dir, RECORD_NAME)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW
    record_fd = os.open(record_path, flags, 0o644)
    header = record_header()
    if os.write(record_fd, header) != len(header):
        raise OSError("the record's header was cut short")
    data_dirs = [os.path.dirname(str(p)) for p in (spec.get("datasets") or {}).values()]
    include = spec.get("task_include_path")
    policy = build_policy(
        harness_dir=HARNESS_DIR,
        model_dir=spec.get("model_path"),
        data_dir=DATA_DIR,
        task_dirs=[*([include] if isinstance(include, str) else include or []), *data_dirs],
        out_dir=out_dir,
        script_filename=script_module.FILENAME,
        scratch_dirs=[*SCRATCH_DIRS, os.getcwd(), *confinement.temp_dirs()],
    )

    def arm_guard() -> None:
        if not armed:
            confine()
            armed.append(arm(policy, record_fd, protected_fds=tuple(protected_fds or ())))
            _log("runtime guard armed")

    return arm_guard, armed


def _failure(exc: BaseException) -> dict[str, Any]:
    """Print the script's view of `exc` to the log and build the failed result; a
    minimal failed result when the exception cannot be described (its `__str__` is the
    script's code, and may raise anything, SystemExit included)."""
    try:
        return _describe_failure(exc)
    except BaseException:  # the script's code: nothing may escape
        return {"ok": False, "error": "the script raised an exception that cannot be shown",
                "error_type": "Exception"}


def _describe_failure(exc: BaseException) -> dict[str, Any]:
    text = script_module.script_traceback(exc)
    sys.stderr.write(text if text.strip() else "".join(traceback.format_exception_only(exc)))
    sys.stderr.flush()
    payload = _error_payload(exc)
    line = script_module.script_line(exc)
    if line is not None:
        payload["error_line"] = line
    return payload


Finish = Callable[[dict[str, Any]], int]
# What the result says when the guard's record was written to or cut by someone else.
TAMPERED = {"event": "unknown", "detail": "runtime guard record tampered", "line": None,
            "target": None}


def finisher(  # noqa: C901 - one closure on purpose: all of it bound before the script
        result_path: str, armed: list[GuardHandle],
             result_fd: int | None = None) -> Finish:
    """The harness's end, bound before the script runs (the script shares `json`, `os`
    and this module's globals, and may rebind them): a function that writes the result
    (with the guard's first denial, if any) and gives the exit code. 0 only when the
    job succeeded and this wrote its result; RECORD_LOST_EXIT when the result's
    descriptor was replaced or the guard's record written to, cut or replaced (the
    result then says `TAMPERED`); 1 otherwise. Raises nothing, whatever the script left."""
    write, fstat, error_payload, log = result_writer(result_path, result_fd), os.fstat, \
        _error_payload, _log
    lost_exit: int = RECORD_LOST_EXIT
    result_id = None
    if result_fd is not None:
        info = fstat(result_fd)
        result_id = (info.st_dev, info.st_ino)

    def same_result_file() -> bool:
        if result_fd is None:
            return True
        try:
            info = fstat(result_fd)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == result_id

    def record_intact() -> bool:
        """The record holds only what the harness and the guard wrote (its size)."""
        if not armed:
            return True
        handle = armed[0]
        try:
            info = fstat(handle.record_fd)
        except OSError:
            return False
        return bool((info.st_dev, info.st_ino) == handle.record_id
                    and info.st_size == handle.record_size[0])

    def finish(payload: dict[str, Any]) -> int:
        tampered = not record_intact()
        if armed and armed[0].denials:
            payload = {**payload, "ok": False, "violation": armed[0].denials[0]}
            payload.pop("metrics", None)
        elif tampered:
            payload = {**payload, "ok": False, "violation": dict(TAMPERED)}
            payload.pop("metrics", None)
        code = write_result(payload)
        return lost_exit if tampered else code

    def write_result(payload: dict[str, Any]) -> int:
        if not same_result_file():
            try:  # noqa: SIM105 - contextlib is the script's to rebind
                log("the result file's descriptor was replaced: no result written")
            except BaseException:  # the log may be the script's
                pass
            return lost_exit
        try:
            write(payload)
        except BaseException as exc:  # not JSON, or the script's doing
            try:  # noqa: SIM105 - contextlib is the script's to rebind
                log(f"the result could not be written: {type(exc).__name__}: {exc}")
            except BaseException:
                pass
            fallback = {**error_payload(exc, "writing the result"),
                        **({"violation": payload["violation"]} if "violation" in payload else {})}
            try:
                write(fallback)
            except BaseException:
                return 1
            return 1
        return 0 if payload.get("ok") is True else 1

    return finish


def _finish(result_path: str, payload: dict[str, Any], armed: list[GuardHandle],
            result_fd: int | None = None) -> int:
    """Write the result (with the guard's first denial, if any); the exit code."""
    return finisher(result_path, armed, result_fd)(payload)


def _read_spec(argv: list[str]) -> dict[str, Any]:
    """The job spec: the file named by argv[1], or for a warm sandbox (`--warm [MODEL]`),
    the assignment that arrives on stdin once the warm-up is done."""
    if argv[1] != WARM_FLAG:
        return dict(json.loads(Path(argv[1]).read_text(encoding="utf-8")))
    _warm_up(argv[2] if len(argv) > 2 else None)
    return _await_assignment()


# A warm sandbox (orchestrator/local/pool.py): started before any job, it imports what a
# cold job imports before its guard is armed, prints WARM_READY, and blocks on stdin for
# one assignment. Nothing of a job is in it before that line arrives.
WARM_FLAG = "--warm"
WARM_READY = "[evalpod] warm sandbox ready"
MAX_ASSIGNMENT_BYTES = 8 * 1024 * 1024


def _warm_up(model_path: str | None) -> None:
    """Import torch, transformers and lm-eval's HFLM (what `_load_model` imports) and the
    model's architecture class; with no model, only the stub. Raises what an import
    raises: the sandbox then ends before WARM_READY and the pool starts the job cold."""
    if model_path is None:
        import stub_model  # noqa: F401
        return
    import model_handle  # noqa: F401
    from transformers import AutoConfig, AutoModelForCausalLM

    try:  # the modelling module of this model's architecture (imported lazily otherwise)
        config = AutoConfig.from_pretrained(model_path)
        AutoModelForCausalLM._model_mapping[type(config)]
    except Exception as exc:  # a head start only: the job's own load reports any error
        _log(f"warm-up could not pre-import the model class: {type(exc).__name__}")


def _await_assignment() -> dict[str, Any]:
    """Block until the host assigns a job: one JSON line `{"spec": {...}, "rlimits":
    {"RLIMIT_CPU": [soft, hard], ...}}` on stdin, then stdin becomes /dev/null (as in a cold
    job) and the job's rlimits apply, its CPU limit counted from now. Raises ValueError
    (malformed), OSError."""
    # `resource` is a module the guard denies to scripts: left imported, a script's
    # `import resource` would find it without the import a cold job's guard sees.
    had_resource = "resource" in sys.modules
    import resource

    print(WARM_READY, flush=True)
    line = sys.stdin.buffer.readline(MAX_ASSIGNMENT_BYTES + 1)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if not line.endswith(b"\n"):
        raise ValueError("no assignment arrived (stdin closed or too long)")
    message = json.loads(line)
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = math.ceil(used.ru_utime + used.ru_stime)
    for name, (soft, hard) in dict(message["rlimits"]).items():
        kind = getattr(resource, name)
        extra = spent if kind == resource.RLIMIT_CPU else 0
        _, ceiling = resource.getrlimit(kind)  # lowering is all an unprivileged process may
        top = soft + hard + extra if ceiling == resource.RLIM_INFINITY else ceiling
        resource.setrlimit(kind, (min(soft + extra, top), min(hard + extra, top)))
    if not had_resource:
        del sys.modules["resource"]
    return dict(message["spec"])


def main(argv: list[str]) -> int:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.update(THREADLESS_ENV)
    # Piped stdout is block-buffered by default; the job log must be live.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    # tqdm bars (the script's, lm-eval's) become progress reports, not `\r`-drawn lines.
    import evalpod_progress

    evalpod_progress.install()
    try:
        spec = SPEC_DEFAULTS | _read_spec(argv)
        result_path = str(spec["result_path"])
    except (IndexError, OSError, ValueError, TypeError) as exc:
        _log(f"unreadable job spec: {exc}")
        return 2
    protected_fds: list[int] = []
    try:
        arm_guard, armed = _guard_arming(spec, result_path, protected_fds)
    except OSError as exc:
        _log(f"cannot open the runtime guard's record: {exc}")
        return 2
    try:
        result_fd = confinement.open_result(spec, result_path)
    except OSError as exc:
        _log(f"cannot open the result file: {exc}")
        return 2
    if result_fd is not None:
        protected_fds.append(result_fd)
    # Bound before any of the job runs: what the harness does after it.
    finish, flush_progress, failure = finisher(result_path, armed, result_fd), \
        evalpod_progress.flush, _failure
    try:
        payload: dict[str, Any] = {"ok": True, "metrics": _run(spec, arm_guard)}
    except BaseException as exc:  # SystemExit/KeyboardInterrupt from the script: failed
        payload = failure(exc)
    try:  # noqa: SIM105 - contextlib is the script's to rebind
        flush_progress()  # progress the budget held back: every bar's last state
    except BaseException:  # the script may have broken tqdm
        pass
    return finish(payload)


def _entry() -> None:
    """Run `main` and leave with its code, whatever the script left behind: nothing
    after `main` may exit 0 in its place (a SystemExit raised while finishing)."""
    leave, out, err = os._exit, sys.stdout, sys.stderr
    exit_code = 1
    try:
        exit_code = main(sys.argv)
    except BaseException:  # the result was not written: not 0
        exit_code = 1
    # The result is written: leave without interpreter finalisation, which with torch
    # loaded took seconds (8-13 s measured under load), delaying the job's end, and
    # which would wait for any non-daemon thread the script left running.
    for stream in (out, err):
        try:  # noqa: SIM105 - contextlib is the script's to rebind
            stream.flush()
        except BaseException:
            pass
    leave(exit_code)


if __name__ == "__main__":
    _entry()
