"""uvicorn in a background thread: how the dev API and the console are served.

Both run beside other work in one process (the dev stack, a CLI command waiting for
Ctrl-C), so each gets its own uvicorn server on a daemon thread, started and stopped
here. uvicorn comes from the ``dev``/``console`` extras and is imported only when a
server is built.
"""

from __future__ import annotations

import threading
from typing import Any


class BackgroundServer:
    """uvicorn serving ``asgi_app`` on ``host``:``port`` (0: any free port) in a daemon thread.

    ``options`` are further ``uvicorn.Config`` settings (a protocol class, keep-alive).
    """

    def __init__(self, asgi_app: Any, host: str, port: int, name: str = "console", **options: Any) -> None:
        import uvicorn

        settings: dict[str, Any] = {"lifespan": "on", "log_level": "warning", "access_log": False}
        config = uvicorn.Config(asgi_app, host=host, port=port, **(settings | options))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)
        self.host = host
        self.name = name

    @property
    def url(self) -> str:
        port = self._server.servers[0].sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the {self.name} did not start on {self.host}")
            self._thread.join(0.01)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
