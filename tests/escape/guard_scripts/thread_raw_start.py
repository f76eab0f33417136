"""`_thread.start_new_thread` with a C callable as the thread's function: the new
thread has no Python frame at all (`exec` with its own globals, which needs none).
expect: compile"""
import _thread
import time


def evaluate_model(model):
    _thread.start_new_thread(exec, ("X = 6 * 7", {}))
    time.sleep(1)
    return {"x": 1}
