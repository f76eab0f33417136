"""A bad EVALPOD_ setting ends any command with one line naming the variable (never its
value) and exit status 1, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SECRET = "s3cret-value-abc"


@pytest.mark.parametrize("command", [["api", "--port", "8799"], ["up", "--port", "8799"],
                                     ["validator"], ["monitor"]])
def test_a_bad_setting_is_one_line_and_exit_1(command: list[str]) -> None:
    env = {**os.environ, "EVALPOD_DATABASE_POOL_SIZE": SECRET}
    done = subprocess.run([sys.executable, "-c", "from evalpod.cli import main; main()",
                           *command], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "evalpod: invalid settings: EVALPOD_DATABASE_POOL_SIZE: Input should be a valid "
        "integer, unable to parse string as an integer"], done.stderr
    assert SECRET not in done.stdout + done.stderr
