"""A signal handler racing the hook: SIGALRM fires every 200 us while the runtime raises
guarded events (logging reads its caller's frame). A handler run while the hook's own
look at the stack is in progress was answered as the guard (`sys._getframe` returned a
frame whose `f_back` chain reached the hook and the harness); now every handler runs
after the hook has returned, and its `sys._getframe` is the script's.
expect: sys._getframe"""
import logging
import signal
import sys
import time

leaks = []
denied = [0]


def handler(signum, frame):
    try:
        leaks.append(sys._getframe())
    except PermissionError:
        denied[0] += 1


def evaluate_model(model):
    log = logging.getLogger("race")
    log.propagate = False
    log.addHandler(logging.NullHandler())
    log.setLevel(logging.INFO)
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    until = time.monotonic() + 3.0
    while time.monotonic() < until and not leaks:
        log.info("tick")
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"signal race: {len(leaks)} frames leaked, {denied[0]} handler calls denied")
    return {"leaked": len(leaks)}
