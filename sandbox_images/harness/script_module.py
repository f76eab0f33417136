"""The evaluation script as a real module, and its failures told in its own terms.

The script is compiled with `dont_inherit=True` (the harness's `from __future__` imports
must not change its semantics), runs in a module registered in `sys.modules` under
`MODULE_NAME` (so `dataclasses`, `typing.get_type_hints`, `pickle` and `enum` find it),
and its source is in `linecache` under `FILENAME`, so tracebacks show its lines without
reading any file after the runtime guard is armed.
"""

from __future__ import annotations

import linecache
import sys
import traceback
from types import CodeType, ModuleType

MODULE_NAME = "evaluation"
FILENAME = "evaluation.py"


def compile_script(source: str) -> CodeType:
    """The script's module code. Raises `SyntaxError` (with the line) or `ValueError`
    (NUL bytes) as `compile` does."""
    lines = source.splitlines(keepends=True)
    linecache.cache[FILENAME] = (len(source), None, lines, FILENAME)
    return compile(source, FILENAME, "exec", dont_inherit=True)


def new_module() -> ModuleType:
    """An empty module named `MODULE_NAME`, registered in `sys.modules`."""
    module = ModuleType(MODULE_NAME)
    module.__file__ = FILENAME
    sys.modules[MODULE_NAME] = module
    return module


def _only_script_frames(exc: traceback.TracebackException, seen: set[int]) -> None:
    if id(exc) in seen:
        return
    seen.add(id(exc))
    kept = [frame for frame in exc.stack if frame.filename == FILENAME]
    exc.stack = traceback.StackSummary.from_list(kept)
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            _only_script_frames(linked, seen)
    for group_member in getattr(exc, "exceptions", None) or ():
        _only_script_frames(group_member, seen)


def script_traceback(error: BaseException) -> str:
    """The traceback of `error` with the script's frames only (no harness or library
    frames), each with its source line; chained exceptions filtered the same way."""
    summary = traceback.TracebackException.from_exception(error, capture_locals=False)
    _only_script_frames(summary, set())
    return "".join(summary.format())


def script_line(error: BaseException) -> int | None:
    """The script line nearest to where `error` was raised, if it passed through it."""
    if isinstance(error, SyntaxError) and error.filename == FILENAME:
        return error.lineno
    line = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == FILENAME:
            line = lineno
    return line
