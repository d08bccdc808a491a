"""Servers and load for the HTTP benchmarks: uvicorn processes, wrk runs, peak memory.

Every server, Nigran's, the bare reference's and Datasette's, is started by the same uvicorn
command line (`SERVER_FLAGS`), so a ratio between two of them measures the applications, not
their servers' settings.
"""

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.imports import BIN, PROJECT_ROOT, BenchmarkFailed, _free_port

SERVER_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--no-access-log")
LOG_LEVEL = ("--log-level", "warning")
STARTUP_TIMEOUT = 90.0
WRK = "/usr/bin/wrk"
THREADS, CONNECTIONS = 2, 32

# wrk's own summary, as one JSON line: its text output rounds and changes units.
# errors.status counts responses with a status above 399 (wrk.c), so a 304 is a success.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Server:
    """A running uvicorn process: where it answers, and its process id for /proc."""

    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    workers: int = 1

    def peak_rss(self) -> dict[str, int]:
        """Peak resident memory (VmHWM) in bytes of each process of the server, keyed
        "server", "worker <pid>" or "helper <pid>".

        One process serves alone; with --workers, uvicorn's parent only supervises and the
        workers are its children (multiprocessing's resource tracker is a helper)."""
        peaks = {"server": _vm_hwm(self.process.pid)}
        for pid in descendants(self.process.pid):
            helper = self.workers == 1 or "resource_tracker" in _cmdline(pid)
            peaks[f"{'helper' if helper else 'worker'} {pid}"] = _vm_hwm(pid)
        return peaks


@contextmanager
def serve(
    name: str,
    app: str,
    env: dict[str, str],
    workdir: Path,
    health: str,
    workers: int = 1,
    factory: bool = False,
) -> Iterator[Server]:
    """Start `uvicorn app` on a free port with the benchmark's flags; stop it on exit.

    Waits until `health` answers 200 and, with several workers, until every worker has gone
    idle (each runs its own start-up warm-up, and the first to answer says nothing of the
    others)."""
    port = _free_port()
    log = workdir / f"server-{name}.log"
    command = [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port)]
    command += [*SERVER_FLAGS, *LOG_LEVEL]
    if workers > 1:
        command += ["--workers", str(workers)]
    if factory:
        command.append("--factory")
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log, workers)
    try:
        _wait_healthy(server, health)
        if workers > 1:
            _wait_workers(server, workers)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_tail(server: Server, chars: int = 3000) -> str:
    """The end of a server's log, for the report of a failure."""
    try:
        return server.log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def _wait_healthy(server: Server, health: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchmarkFailed(
                f"{server.name}: the server exited ({server.process.returncode}):\n"
                + log_tail(server)
            )
        try:
            if httpx.get(server.base + health, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise BenchmarkFailed(f"{server.name}: no 200 from {health} in {STARTUP_TIMEOUT:g} s")


def _wait_workers(server: Server, workers: int) -> None:
    """Until `workers` children exist and none has used CPU for a second."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    previous: dict[int, int] = {}
    quiet = 0
    while time.monotonic() < deadline:
        pids = [p for p in descendants(server.process.pid) if "resource_tracker" not in _cmdline(p)]
        ticks = {pid: _cpu_ticks(pid) for pid in pids}
        busy = len(pids) < workers or any(ticks[pid] - previous.get(pid, -1000) > 2 for pid in pids)
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return
        previous = ticks
        time.sleep(0.5)
    raise BenchmarkFailed(f"{server.name}: {workers} workers did not settle in time")


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, from /proc/<pid>/task/*/children (no psutil needed)."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            found += children
            queue += children
    return found


def _vm_hwm(pid: int) -> int:
    """Peak resident set size of a live process, in bytes (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Load:
    """One wrk run: its rate, and every response or socket error it counted."""

    requests: int
    seconds: float
    status_errors: int
    socket_errors: dict[str, int]
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def problem(self) -> str | None:
        """Why this run cannot be a figure, or None."""
        if self.requests == 0:
            return "no response at all"
        problems = [f"{self.status_errors} responses >= 400"] if self.status_errors else []
        problems += [f"{n} socket {kind} errors" for kind, n in self.socket_errors.items() if n]
        return ", ".join(problems) or None


def wrk(url: str, seconds: int, timeout: int, headers: dict[str, str] | None = None) -> Load:
    """Load `url` with 2 threads and 32 connections for `seconds` (whole seconds: wrk's -d
    takes no fractions)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    try:
        command = [WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s"]
        command += [f"--timeout={timeout}s", "-s", script.name]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        done = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=seconds + timeout + 30
        )
    finally:
        os.unlink(script.name)
    report = next(
        (line for line in reversed(done.stdout.splitlines()) if line.startswith('{"requests"')),
        None,
    )
    if done.returncode != 0 or report is None:
        raise BenchmarkFailed(f"wrk failed on {url} ({done.returncode}): {done.stderr.strip()}")
    data = json.loads(report)
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        status_errors=data["status"],
        socket_errors={kind: data[kind] for kind in ("connect", "read", "write", "timeout")},
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )
