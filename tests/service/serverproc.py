"""`lapor-router serve` as a child process on 127.0.0.1, for the service tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`lapor-router serve` in a child process; ``start()`` waits until it answers."""

    def __init__(self, db: str, home: Path, log: Path) -> None:
        self.db, self.home, self.log = db, home, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._store: Any = None

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "LAPOR_ROUTER_DATA": str(self.home)}

    def start(self, timeout: float = 90.0) -> Server:
        cmd = [sys.executable, "-m", "lapor_router.cli", "serve", "--db", self.db,
               "--port", str(self.port)]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + "/services.json", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not answer in {timeout} s: {self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """kill -9: no shutdown of any kind."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self._store is not None:
            self._store.dispose()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lapor_router.cli", *args, "--db", self.db],
            env=self.env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    def token(self, unit_id: str) -> str:
        """A token for ``unit_id``, added to the server's store from this process."""
        if self._store is None:
            from lapor_router import Router
            from lapor_router.service import ReportStore

            self._store = ReportStore(Router.default(), self.db)
        return str(self._store.add_token(unit_id))
