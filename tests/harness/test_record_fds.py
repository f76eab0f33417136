"""The harness's own descriptors and end are out of the script's reach (attack2 F1 b, e):
no audited event may name the record's or the result's fd, and nothing the script
rebinds in the modules it shares with the harness changes how the result is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness.conftest import RunHarness

# fd 3: the record (opened first), fd 4: the result (tests/escape/test_record_tamper.py).
OPENERS = {
    "fileio": "type(sys.stderr.buffer.raw)({fd}, 'wb', closefd=False)",
    "fdopen": "os.fdopen({fd}, 'wb', closefd=False)",
    "open": "open({fd}, 'rb', closefd=False)",
    "truncate": "os.truncate({fd}, 0)",
    "listdir": "os.listdir({fd})",
}


@pytest.mark.parametrize("fd", [3, 4])
@pytest.mark.parametrize("opener", sorted(OPENERS))
def test_the_harness_fds_cannot_be_named(
    run_harness: RunHarness, tmp_path: Path, opener: str, fd: int
) -> None:
    call = OPENERS[opener].format(fd=fd)
    script = (
        "import os, sys\n"
        "def evaluate_model(model):\n"
        "    try:\n"
        f"        {call}\n"
        "    except OSError:\n"
        "        pass\n"
        "    return {'accuracy': 0.999}\n"
    )
    run = run_harness(script, model_path=None)
    assert run.returncode == 1, run.stderr
    assert run.result is not None and run.result["ok"] is False, run.result
    assert run.result["violation"]["target"] == str(fd), run.result
    assert run.result["violation"]["line"] == 4
    lines = (tmp_path / "violation.json").read_text().splitlines()
    assert json.loads(lines[0])["evalpod_guard_record"] == 1
    assert json.loads(lines[1])["target"] == str(fd)


def test_a_temporary_file_still_opens_by_fd(run_harness: RunHarness) -> None:
    """`tempfile.TemporaryFile()` opens its own new fd by number: allowed."""
    script = (
        "import tempfile\n"
        "def evaluate_model(model):\n"
        "    with tempfile.TemporaryFile() as handle:\n"
        "        handle.write(b'scratch')\n"
        "        handle.seek(0)\n"
        "        data = handle.read()\n"
        "    with tempfile.NamedTemporaryFile('w+') as named:\n"
        "        named.write('x')\n"
        "    return {'n': len(data)}\n"
    )
    run = run_harness(script, model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result == {"ok": True, "metrics": {"n": 7}}


def test_bytes_added_to_the_record_make_the_harness_exit_86(
    run_harness: RunHarness,
) -> None:
    """A write the guard does not see (here through a FileIO whose opener hands back the
    record's fd: the event names the path, not the fd; the static validator refuses
    it): the harness checks the record's size at its end."""
    script = (
        "import os\n"
        "def raw_write():\n"
        "    import io\n"
        "    opener = lambda path, flags: 3\n"
        "    return io.FileIO('/tmp/other', 'ab', opener=opener).write\n"
        "def evaluate_model(model):\n"
        "    raw_write()(b'{}\\n')\n"
        "    return {'accuracy': 0.999}\n"
    )
    run = run_harness(script, model_path=None)
    assert run.returncode == 86, run.stderr
    assert run.result is not None and run.result["ok"] is False
    assert run.result["violation"]["detail"] == "runtime guard record tampered"


@pytest.mark.parametrize(
    "rebind",
    [
        "json.dumps = finish",
        "json.JSONEncoder.encode = finish",
        "json.encoder.c_make_encoder = finish",
        "sys.modules['__main__'].to_json_value = lambda *a, **k: {'x': 1}",
    ],
)
def test_the_harness_end_is_bound_before_the_script(run_harness: RunHarness, rebind: str) -> None:
    """A SystemExit(0) planted in what the harness would call at its end cannot make it
    exit 0 without its result, nor change the result."""
    script = (
        "import json, sys\n"
        "def finish(*a, **k):\n"
        "    raise SystemExit(0)\n"
        "def evaluate_model(model):\n"
        f"    {rebind}\n"
        "    return {'accuracy': 0.25}\n"
    )
    run = run_harness(script, model_path=None)
    # to_json_value is looked up at call time: rebinding it is the script returning
    # other metrics, which it may do anyway; the harness still writes them itself.
    expected = {"x": 1} if "to_json_value" in rebind else {"accuracy": 0.25}
    assert run.returncode == 0, run.stderr
    assert run.result == {"ok": True, "metrics": expected}


@pytest.mark.parametrize("raised", ["SystemExit(0)", "KeyboardInterrupt()", "SystemExit(None)"])
def test_an_exit_raised_by_the_script_is_a_failure(run_harness: RunHarness, raised: str) -> None:
    script = f"def evaluate_model(model):\n    raise {raised}\n"
    run = run_harness(script, model_path=None)
    assert run.returncode == 1, run.stderr
    assert run.result is not None and run.result["ok"] is False
    assert run.result["error_type"] == raised.split("(")[0]


def test_the_audited_os_functions_hold_no_original(run_harness: RunHarness) -> None:
    """`os.write` and the other descriptor functions are routed through the guard's hook,
    which alone holds the originals: the wrapper the script sees keeps none (in its
    closure or `__wrapped__`; reading `__defaults__` is denied), and `posix` hands out
    the same wrapper."""
    script = (
        "import os\n"
        "import posix\n"
        "def evaluate_model(model):\n"
        "    names = ('write', 'pwrite', 'writev', 'close', 'dup2', 'closerange', 'lseek')\n"
        "    found = 0\n"
        "    for name in names:\n"
        "        f = getattr(os, name)\n"
        "        cells = [c.cell_contents for c in (f.__closure__ or ())]\n"
        "        found += sum(1 for c in cells if callable(c) and c is not f\n"
        "                     and getattr(c, '__name__', '') == name)\n"
        "        found += hasattr(f, '__wrapped__')\n"
        "        found += getattr(posix, name) is not f\n"
        "    return {'originals': found, 'wrapped': len(names)}\n"
    )
    run = run_harness(script, model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result == {"ok": True, "metrics": {"originals": 0, "wrapped": 7}}
