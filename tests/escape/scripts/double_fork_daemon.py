"""Escape attempt: double fork daemon."""

import os, sys
def evaluate_model(model):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "__TOKEN__"])
        os._exit(0)
    return {"daemonized": True}
