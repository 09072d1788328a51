"""The README's commands paste and run: every shell and Python block of README.md runs, in order, against a live
server (``python -m app``, started here on a free port), from one scratch folder, as a reader would paste them.

A block may be skipped only with ``<!-- readme-test: skip (why) -->`` on the line before it, and only the two
install commands are (``.ci/run`` runs the test command itself; the server this test starts is the other's
``python -m app``). A ```text block right after a block is that block's
output, compared exactly (only deterministic counts are shown so; measured figures never are). ``localhost:8000``
in a block is replaced by the test server's address. Nothing here asserts on speed: the timeouts are liveness
ceilings for a slow, busy host."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_server import free_port, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELLS = {"bash", "sh", "shell", "console"}
RUN = SHELLS | {"python"}
SKIP = re.compile(r"<!-- readme-test: skip \((.+)\) -->")
FENCE = re.compile(r"^```(\S*)")
BLOCK_TIMEOUT_S = 900  # a latency block measures for seconds; a busy 2-core host can take minutes to start torch
MAX_LINES = 300
SERVER_LOG: list[str] = []
SERVICE_COMMAND = "pip install . && python -m app"
TEST_COMMAND = "pip install -e '.[test]' && pytest"  # .ci/run runs this line


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    skip: str | None = None  # why, when the README says to skip it
    output: str | None = None  # the ```text block that follows it

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.lang})"


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, each with its skip marker; a ```text block that follows a runnable
    block with only blank lines between is that block's output, not a block of its own."""
    lines = text.splitlines()
    found: list[Block] = []
    last_end = -1  # the line index of the previous block's closing fence
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        body = "\n".join(lines[i + 1 : end]) + "\n"
        previous = found[-1] if found else None
        follows = previous is not None and all(not ln.strip() for ln in lines[last_end + 1 : i])
        if m.group(1) == "text" and follows and previous.lang in RUN and previous.output is None:  # type: ignore[union-attr]
            previous.output = body  # type: ignore[union-attr]
        else:
            marker = SKIP.fullmatch(lines[i - 1].strip()) if i else None
            found.append(Block(i + 1, m.group(1), body, marker.group(1) if marker else None))
        last_end = end
        i = end + 1
    return found


def runnable() -> list[Block]:
    return [b for b in blocks(README.read_text()) if b.lang in RUN and b.skip is None]


def run_block(block: Block, base_url: str, cwd: Path, timeout_s: float = BLOCK_TIMEOUT_S) -> str | None:
    """Run one block against ``base_url``; None when it ran as the README says, else what went wrong."""
    host_port = base_url.removeprefix("http://")
    code = block.text.replace("localhost:8000", host_port).replace("127.0.0.1:8000", host_port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `python` is this one
    env["PYTHONUNBUFFERED"] = "1"
    if block.lang == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-e", "-c", code]
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return f"{block.where}: still running after {timeout_s:.0f} s\n{err[-3000:]}"
    if done.returncode:
        out, err = done.stdout[-2000:], done.stderr[-3000:]
        return f"{block.where}: exit {done.returncode}\n--- stdout\n{out}\n--- stderr\n{err}"
    if block.output is not None and done.stdout.rstrip() != block.output.rstrip():
        return f"{block.where}: printed\n{done.stdout}\nwhere the README shows\n{block.output}"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    proc = start_server(tmp_path_factory.mktemp("readme-store") / "store.sqlite3", port)
    log: deque[bytes] = deque(maxlen=200)  # the end of the server's log, kept for a failure's message
    stderr = proc.stderr
    assert stderr is not None
    threading.Thread(target=lambda: log.extend(iter(stderr.readline, b"")), daemon=True).start()  # never fills
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)
        SERVER_LOG[:] = [line.decode(errors="replace") for line in log]


def test_the_readme_is_short_and_has_the_two_commands() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= MAX_LINES
    skipped = [b.text.strip() for b in blocks(text) if b.skip is not None]
    assert SERVICE_COMMAND in skipped and TEST_COMMAND in skipped
    assert len(skipped) == 2, f"only the two commands may be left unrun: {skipped}"
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text()
    assert "<!-- tour: start -->" in text and "<!-- tour: end -->" in text  # docs/tour.md copies what is between


def test_the_blocks_are_found() -> None:
    found = runnable()
    assert sum(b.lang == "python" for b in found) >= 2
    assert sum(b.lang in SHELLS for b in found) >= 8
    assert any(b.output for b in found)
    assert any("python -m profiler" in b.text for b in found)
    assert any("profiler_client" in b.text for b in found)


def test_every_readme_block_runs_against_a_live_server(server: str, tmp_path: Path) -> None:
    failures = [why for block in runnable() if (why := run_block(block, server, tmp_path))]
    assert not failures, "\n\n".join(failures)


def test_a_failing_block_is_told(tmp_path: Path) -> None:
    """The runner itself: a wrong output and a failing command are caught, and a right one passes."""
    right = Block(1, "bash", "echo 4\n", output="4\n")
    wrong = Block(2, "python", "print(5)\n", output="4\n")
    failing = Block(3, "sh", "false\necho never\n")
    assert run_block(right, "http://127.0.0.1:1", tmp_path) is None
    assert "where the README shows" in (run_block(wrong, "http://127.0.0.1:1", tmp_path) or "")
    assert "exit 1" in (run_block(failing, "http://127.0.0.1:1", tmp_path) or "")


def test_blocks_pairs_a_block_with_the_output_shown_after_it() -> None:
    text = (
        "<!-- readme-test: skip (why) -->\n```bash\nx\n```\n\n"
        "```bash\ny\n```\n\n```text\nout\n```\n"
        "```text\nalone\n```\n"
    )
    found = blocks(text)
    assert [(b.lang, b.text, b.skip, b.output) for b in found] == [
        ("bash", "x\n", "why", None),
        ("bash", "y\n", None, "out\n"),
        ("text", "alone\n", None, None),
    ]
