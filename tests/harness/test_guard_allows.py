"""What the runtime guard must let through (the harness, unsandboxed, guard armed), and
how it reports what it denies: the record the host reads, and tampering with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import RunHarness

EVERYDAY = '''
import difflib, inspect, json, logging, re, statistics, threading, traceback, warnings
from collections import Counter
from pathlib import Path

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("eval")


def helper(a, b=2):
    return a + b


def evaluate_model(model):
    Path("notes.txt").write_text("scratch")          # the work dir is writable
    assert open("notes.txt").read() == "scratch"
    Path("/tmp/t.json").write_text(json.dumps({"a": 1}))
    log.info("logging finds its caller through frames")
    with warnings.catch_warnings(record=True):
        warnings.warn("fine")
    try:
        raise ValueError("handled")
    except ValueError:
        text = traceback.format_exc()
    done = []
    worker = threading.Thread(target=lambda: done.append(statistics.mean([1, 2, 3])))
    worker.start()
    worker.join()
    return {
        "params": list(inspect.signature(helper).parameters),
        "ratio": difflib.SequenceMatcher(None, "abc", "abd").ratio(),
        "words": Counter(re.findall(r"\\w+", "a b a"))["a"],
        "traceback_ok": "handled" in text,
        "thread": done,
    }
'''


def test_everyday_code_runs_under_the_guard(run_harness: RunHarness) -> None:
    run = run_harness(EVERYDAY, model_path=None)
    assert run.returncode == 0, run.stderr
    assert "runtime guard armed" in run.stderr
    assert run.result is not None and run.result["metrics"] == {
        "params": ["a", "b"], "ratio": 2 / 3, "words": 2, "traceback_ok": True, "thread": [2],
    }


def test_denial_is_recorded_before_the_script_can_hide_it(
    run_harness: RunHarness, tmp_path: Path
) -> None:
    script = (
        "import os\n"
        "def evaluate_model(model):\n"
        "    try:\n"
        "        os.system('true')\n"
        "    except PermissionError:\n"
        "        pass\n"
        "    os._exit(0)\n"
    )
    run = run_harness(script, model_path=None)
    assert run.returncode == 0  # the script exited on its own terms...
    assert run.result is None  # ...before the harness wrote a result
    record = (tmp_path / "violation.json").read_text().splitlines()
    assert json.loads(record[0])["evalpod_guard_record"] == 1  # the harness's header
    assert json.loads(record[1]) == {
        "event": "os.system", "detail": "os.system denied", "line": 4, "target": "true"}
    assert "[evalpod] runtime guard: os.system (true) denied at script line 4" in run.stderr


def test_closing_the_records_fd_is_denied(run_harness: RunHarness, tmp_path: Path) -> None:
    # os.close raises no audit event of its own: closing the record (which once made the
    # harness exit 86 at its end) is now denied as it is tried, and the record kept.
    script = (
        "import os\n"
        "def evaluate_model(model):\n"
        "    for fd in range(3, 64):\n"
        "        try:\n"
        "            os.close(fd)\n"
        "        except OSError:\n"
        "            pass\n"
        "    os.system('true')\n"
        "    return {}\n"
    )
    run = run_harness(script, model_path=None)
    assert run.returncode == 1, run.stderr
    record = (tmp_path / "violation.json").read_text().splitlines()
    assert json.loads(record[1]) == {
        "event": "os.close", "detail": "os.close denied", "line": 5, "target": "3"}
    assert run.result is not None and run.result["violation"]["detail"] == "os.close denied"


def test_guard_off_when_the_spec_says_so(run_harness: RunHarness) -> None:
    run = run_harness("def evaluate_model(model):\n    return {'x': eval('1 + 1')}\n",
                      model_path=None, guard=False)
    assert run.returncode == 0, run.stderr
    assert "runtime guard off" in run.stderr
    assert run.result == {"ok": True, "metrics": {"x": 2}}


NAMED_TUPLES = '''
from collections import namedtuple
from typing import NamedTuple

Record = namedtuple("Record", ["question", "answer"], defaults=[""])


class Scored(NamedTuple):
    text: str
    score: float = 0.0


def evaluate_model(model):
    rows = [Record("2+2", "4"), Record("capital of France")]
    best = max([Scored("a", 0.2), Scored("b", 0.7)], key=lambda s: s.score)
    return {"answers": [r.answer for r in rows], "best": best.text}
'''


def test_namedtuples_run_under_the_guard(run_harness: RunHarness) -> None:
    """namedtuple builds its class with eval: allowed, since only checked identifiers reach
    the generated source (found by the corpus benchmark: benign/match_records)."""
    run = run_harness(NAMED_TUPLES, model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result is not None and run.result["metrics"] == {"answers": ["4", ""], "best": "b"}


NAMEDTUPLE_INJECTION = '''
from collections import namedtuple


def evaluate_model(model):
    outcome = {}
    for name in ["a=__import__('os').system('true')", "a, b): pass\\nimport os#", "class"]:
        try:
            namedtuple("T", [name])
            outcome[name] = "built"
        except ValueError:
            outcome[name] = "refused"
    try:
        eval("1 + 1")
        outcome["eval"] = "ran"
    except PermissionError:
        outcome["eval"] = "denied"
    return outcome
'''


def test_the_namedtuple_exemption_runs_no_script_text(
    run_harness: RunHarness, tmp_path: Path
) -> None:
    run = run_harness(NAMEDTUPLE_INJECTION, model_path=None)
    # Crafted field names never become code (namedtuple refuses them before its eval, so
    # nothing is recorded for lines 7-12); the script's own eval is still denied.
    records = [json.loads(line)
               for line in (tmp_path / "violation.json").read_text().splitlines()[1:]]
    assert [(r["event"], r["line"]) for r in records] == [("compile", 14)]
    assert run.result is not None and run.result["ok"] is False


def test_exec_is_blocked_below_python() -> None:
    """The seccomp wall under the audit hook: once installed, no path to execve works,
    audited or not (here a plain os.execv with no hook at all), in forked children too."""
    harness = Path(__file__).resolve().parents[2] / "sandbox_images" / "harness"
    code = (
        "import errno, os, sys\n"
        f"sys.path.insert(0, {str(harness)!r})\n"
        "import guard\n"
        "guard.block_exec()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        os.execv('/bin/true', ['true'])\n"
        "    except PermissionError:\n"
        "        os._exit(42)\n"
        "    os._exit(1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status))\n"
        "try:\n"
        "    os.execv('/bin/true', ['true'])\n"
        "except OSError as exc:\n"
        "    print(errno.errorcode[exc.errno])\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["42", "EPERM"], done.stderr


THREADS = '''
import inspect, logging, threading, traceback
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("eval")


def work(n):
    import colorsys, wave  # lazy imports (bytecode unmarshalled) inside a thread
    log.warning("in a thread %d", n)
    try:
        raise ValueError("handled")
    except ValueError:
        text = traceback.format_exc()
    return [n, "handled" in text, list(inspect.signature(work).parameters),
            colorsys.__name__, wave.__name__]


def fail():
    raise RuntimeError("uncaught in a thread")


def evaluate_model(model):
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(work, [1, 2]))
    worker = threading.Thread(target=fail)  # printed by threading.excepthook
    worker.start()
    worker.join()
    return {"rows": rows}
'''


def test_threads_the_script_starts_do_everyday_work(
    run_harness: RunHarness, tmp_path: Path
) -> None:
    """Threads count as the script's, but only at their own entry: library work deeper
    in them (imports, logging, tracebacks, signatures, the printed uncaught error) runs."""
    run = run_harness(THREADS, model_path=None)
    assert run.returncode == 0, run.stderr
    assert "uncaught in a thread" in run.stderr
    assert len((tmp_path / "violation.json").read_text().splitlines()) == 1  # the header
    assert run.result is not None and run.result["metrics"] == {"rows": [
        [n, True, ["n"], "colorsys", "wave"] for n in (1, 2)]}


def test_a_thread_cannot_erase_the_record(run_harness: RunHarness, tmp_path: Path) -> None:
    """The record is never opened for writing again, even where its directory is writable
    (here the work dir), and a thread the script starts is the script."""
    record = tmp_path / "violation.json"
    script = (
        "import itertools, os, threading\n"
        "def evaluate_model(model):\n"
        "    try:\n"
        "        os.system('true')\n"
        "    except PermissionError:\n"
        "        pass\n"
        "    for target in (open, os.truncate):\n"
        f"        args = ({str(record)!r}, 'w') if target is open else ({str(record)!r}, 0)\n"
        "        calls = itertools.starmap(target, [args])\n"
        "        worker = threading.Thread(target=list, args=(calls,))\n"
        "        worker.start()\n"
        "        worker.join()\n"
        "    return {'accuracy': 1.0}\n"
    )
    run = run_harness(script, model_path=None)
    lines = [json.loads(line) for line in record.read_text().splitlines()[1:]]
    assert [line["event"] for line in lines] == ["os.system", "open", "os.truncate"], lines
    assert run.result is not None and run.result["violation"]["event"] == "os.system"
    assert "metrics" not in run.result


SIGNALS = '''
import signal, time, types

STORE = {}
SEEN = []


def on_alarm(signum, frame):
    SEEN.append((signum, frame))


def evaluate_model(model):
    signal.signal(signal.SIGALRM, STORE.__setitem__)  # a C callable: stores the frame
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    time.sleep(0.3)
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    time.sleep(0.3)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    return {
        "stored": STORE.get(signal.SIGALRM, "missing"),
        "seen": [[number == signal.SIGALRM, frame] for number, frame in SEEN],
        "previous_callable": callable(previous),
        "original_hidden": isinstance(signal.signal.__wrapped__, types.FunctionType),
    }
'''


def test_signal_handlers_get_no_frame(run_harness: RunHarness) -> None:
    """A handler is called with the interrupted frame, which no audit event covers (from
    it `f_back`/`f_locals` reach the harness's `main()`): after arming it gets None."""
    run = run_harness(SIGNALS, model_path=None)
    assert run.returncode == 0, run.stderr
    assert run.result is not None and run.result["metrics"] == {
        "stored": None, "seen": [[True, None]], "previous_callable": True,
        "original_hidden": True}
