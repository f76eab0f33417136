"""Entry point of a static-analysis worker process (`python -m validator.analysis_worker`)."""

from __future__ import annotations

import signal
import sys

if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when this
    # process ends (it closes stdin, or kills it), so no KeyboardInterrupt traceback here.
    # Ignored first, before the analysers' imports take their second or two.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from validator.analysis import serve

    protocol_out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print in an analyser must not corrupt the protocol
    serve(sys.stdin.buffer, protocol_out)
