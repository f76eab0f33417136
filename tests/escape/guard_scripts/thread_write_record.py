"""After a denial the script tries to erase the record: from a thread (where no script
frame is on the stack) and from its own frame, truncating and removing the record and
rewriting the result. All are denied; the first denial stays the job's verdict.
expect: os.listdir"""
import os
import threading


def evaluate_model(model):
    try:
        os.listdir("/etc")
    except PermissionError:
        pass
    for target, args in ((open, ("/out/violation.json", "w")),
                         (open, ("/out/result.json", "w")),
                         (os.truncate, ("/out/violation.json", 0)),
                         (os.remove, ("/out/violation.json",))):
        worker = threading.Thread(target=target, args=args)
        worker.start()
        worker.join()
        try:
            target(*args)
        except PermissionError:
            pass
    return {"accuracy": 1.0}
