"""Keep a child process running: start it, and start it again whenever it ends, with a
growing pause when it keeps failing at once (as systemd's Restart=always does)."""

import logging
import subprocess
import threading
import time
from collections.abc import Sequence

logger = logging.getLogger("pesiar.ops")


class Supervisor:
    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str = "worker",
        min_delay: float = 1.0,
        max_delay: float = 30.0,
        healthy_after: float = 30.0,
        **popen_kwargs,
    ) -> None:
        self.command = list(command)
        self.name = name
        self.min_delay, self.max_delay, self.healthy_after = min_delay, max_delay, healthy_after
        self.popen_kwargs = popen_kwargs
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Supervisor":
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{self.name}")
        self._thread.daemon = True
        self._thread.start()
        return self

    def _spawn(self) -> None:
        self.process = subprocess.Popen(self.command, **self.popen_kwargs)
        self._started = time.monotonic()

    def _watch(self) -> None:
        delay = self.min_delay
        while not self._stopping.is_set():
            code = self.process.wait()
            if self._stopping.is_set():
                return
            ran = time.monotonic() - self._started
            delay = self.min_delay if ran >= self.healthy_after else min(delay * 2, self.max_delay)
            logger.warning(
                "%s (pid %s) ended with exit code %s after %.0f s; starting it again in %.0f s",
                self.name, self.process.pid, code, ran, delay,
            )  # fmt: skip
            if self._stopping.wait(delay):
                return
            self._spawn()
            self.restarts += 1

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the child to stop (SIGTERM: it finishes its task), then kill it if it must."""
        self._stopping.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
