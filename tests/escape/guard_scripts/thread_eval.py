"""A thread as a trampoline: `eval` run through `map` in a thread the script started,
so the thread's own frames are only `threading`'s.
expect: compile"""
import threading


def evaluate_model(model):
    out = []
    worker = threading.Thread(target=out.extend, args=(map(eval, ["6 * 7"]),))
    worker.start()
    worker.join()
    return {"eval": out[0] if out else None}
