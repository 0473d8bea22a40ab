"""A small app for the dev-stack tests: counts runs so duplicates are visible."""

from __future__ import annotations

import threading
from collections import Counter

from pydantic import BaseModel, Field

from taskworker import PermanentError, TaskApp

app = TaskApp("devtest")
runs: Counter[str] = Counter()
_lock = threading.Lock()


class Echo(BaseModel):
    text: str = Field(max_length=100)


class Echoed(BaseModel):
    text: str
    length: int


@app.task("echo.run", timeout=5)
def echo(req: Echo) -> Echoed:
    with _lock:
        runs[req.text] += 1
    if req.text == "poison":
        raise PermanentError("poison pill")
    return Echoed(text=req.text.upper(), length=len(req.text))
