"""Entry point of a static-analysis worker process (`python -m validator.analysis_worker`)."""

from __future__ import annotations

import sys

from validator.analysis import serve

if __name__ == "__main__":
    protocol_out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print in an analyser must not corrupt the protocol
    serve(sys.stdin.buffer, protocol_out)
