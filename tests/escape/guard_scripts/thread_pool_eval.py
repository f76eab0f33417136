"""`ThreadPoolExecutor.submit(eval, ...)`: two runtime frames (`_WorkItem.run`,
`_worker`) between the thread's start and the call; the error is caught.
expect: compile"""
from concurrent.futures import ThreadPoolExecutor


def evaluate_model(model):
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            value = pool.submit(eval, "6 * 7").result()
        except PermissionError:
            value = None
    return {"x": value}
