"""Job output to lines: long lines cut only between characters, every byte kept (#12.3)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from evalpod.settings import Settings
from monitor.limits import TailBuffer
from orchestrator.kubernetes.logs import LogLineSplitter
from orchestrator.lines import MAX_LINE_BYTES, LineSplitter, char_boundary
from orchestrator.local.backend import LocalBackend
from orchestrator.sandbox import OutputLine, ResourceLimits, SandboxJob

EURO_LINE = "€" * 21846  # 65,538 bytes: just over one 64 KiB piece


def _split(data: bytes, chunks: list[int]) -> list[OutputLine]:
    splitter, lines, start = LineSplitter(), [], 0
    for size in chunks:
        lines += splitter.feed(data[start:start + size])
        start += size
    return lines + splitter.feed(data[start:]) + splitter.flush()


def _joined(lines: list[OutputLine]) -> list[str]:
    """The job's lines, continuation pieces put back together."""
    whole, current = [], ""
    for line in lines:
        current += line
        if not line.continues:
            whole.append(current)
            current = ""
    return whole + ([current] if current else [])


def test_the_issue_example_keeps_every_character() -> None:
    data = (EURO_LINE + "\nafter\n").encode()
    lines = _split(data, [65536] * 2)  # the pipe reads of the report: 64 KiB each
    assert "\ufffd" not in "".join(lines)
    assert [len(line.encode()) <= MAX_LINE_BYTES for line in lines] == [True] * len(lines)
    assert [line.continues for line in lines] == [True, False, False]
    assert _joined(lines) == [EURO_LINE, "after"]


@pytest.mark.parametrize("seed", range(20))
def test_any_chunking_gives_the_same_lines(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["a", "é", "€", "😀", "\t", "\r"]
    text_lines = ["".join(rng.choices(alphabet, k=rng.choice([0, 5, 30000, 70000])))
                  for _ in range(6)]
    data = "".join(line + "\n" for line in text_lines).encode()
    whole = _split(data, [])
    chunked = _split(data, [rng.randint(1, 9000) for _ in range(200)])
    assert [(str(x), x.continues) for x in chunked] == [(str(x), x.continues) for x in whole]
    # A CR ending a line is the CRLF convention; other CRs are the job's text.
    assert _joined(whole) == [line.removesuffix("\r") for line in text_lines]
    assert "\ufffd" not in "".join(whole)


def test_invalid_utf8_is_replaced_not_dropped() -> None:
    assert _split(b"ok \xff\xfe end\n", [4]) == ["ok \ufffd\ufffd end"]
    # Continuation bytes with no lead byte: the cut falls back to the byte cap.
    assert char_boundary(b"\x80" * 10, 5) == 5
    assert char_boundary("a€".encode(), 2) == 1


def test_kubernetes_splitter_cuts_between_characters() -> None:
    splitter = LogLineSplitter(0)
    data = (EURO_LINE + "\n").encode()
    lines = [line for start in range(0, len(data), 4096)
             for line in splitter.feed(data[start:start + 4096])] + splitter.flush()
    assert "".join(lines) == EURO_LINE
    assert [getattr(line, "continues", False) for line in lines] == [True, False]


def test_tail_joins_continued_pieces() -> None:
    tail = TailBuffer(max_bytes=100)
    tail.add(OutputLine("abc", continues=True))
    tail.add(OutputLine("def"))
    tail.add("next")
    assert tail.text() == "abcdef\nnext"


async def test_sandbox_delivers_the_long_line_whole_and_a_neutralised_tail(tmp_path: Path) -> None:
    """The issue's example through a real bubblewrap sandbox and the supervisor."""
    backend = LocalBackend(Settings(home=tmp_path))
    received: list[str] = []

    async def sink(line: str) -> None:
        received.append(line)

    script = ("def evaluate_model(model):\n"
              "    print('€' * 21846)\n"
              "    print('\\x1b]0;title\\x07\\x1b[2Kdone')\n"
              "    print('bye')\n"
              "    return {}\n")
    job = SandboxJob(job_id="long-line", script=script,
                     limits=ResourceLimits(timeout_s=20, memory_mb=512))
    outcome = await backend.run(job, sink)
    assert outcome.status == "succeeded", outcome
    assert EURO_LINE in _joined([line if isinstance(line, OutputLine) else OutputLine(line)
                                 for line in received])
    assert "\x1b]0;title\x07\x1b[2Kdone" in received  # the log keeps what was printed
    assert "\ufffd" not in "".join(received)
    # stdout_tail is shown (`evalpod sandbox run --json`, the record): neutralised.
    assert outcome.stdout_tail.endswith("␛]0;title␇␛[2Kdone\nbye")
    assert "\x1b" not in outcome.stdout_tail and "\n" in outcome.stdout_tail
