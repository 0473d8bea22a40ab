"""Example app: monthly account reports, the kind of work an API must not do inline.

``report.generate`` aggregates a month of synthetic transactions (real CPU time, scaled by
``detail``), ``report.notify`` is a light I/O-style task, and ``report.fail`` shows a
permanent failure landing in the dead-letter queue with its reason.

Deploy it with ``infra/`` or run it locally with ``taskworker dev examples.reports:app``.
"""

from __future__ import annotations

import hashlib
import time

from pydantic import BaseModel, Field

from taskworker import PermanentError, Retry, TaskApp, TaskContext

app = TaskApp("reports")


class ReportRequest(BaseModel):
    account_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    detail: int = Field(default=1, ge=1, le=50, description="work multiplier: 1 is about 20 ms")


class ReportResult(BaseModel):
    rows: int
    total_cents: int
    url: str


@app.task("report.generate", timeout=60, retry=Retry(attempts=3, backoff=0.05))
def generate(req: ReportRequest, ctx: TaskContext) -> ReportResult:
    """Aggregate a month of transactions: deterministic, CPU-bound, takes real time."""
    rows = 2_000 * req.detail
    total = 0
    seed = f"{req.account_id}:{req.month}".encode()
    for row in range(rows):
        digest = hashlib.sha256(seed + row.to_bytes(4, "big")).digest()
        total += int.from_bytes(digest[:3], "big") % 10_000
    ctx.logger.info("report generated", rows=rows)
    key = hashlib.sha1(seed).hexdigest()[:12]
    return ReportResult(
        rows=rows, total_cents=total, url=f"s3://reports/{req.account_id}/{req.month}/{key}.csv"
    )


class Notification(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    subject: str = Field(max_length=200)


@app.task("report.notify", timeout=10)
async def notify(note: Notification) -> None:
    """Pretend to call a mail API (I/O-bound): async handlers run on a reused event loop."""
    import asyncio

    await asyncio.sleep(0.01)


class AuditRequest(BaseModel):
    account_id: str


@app.task("report.fail", timeout=5)
def audit(req: AuditRequest) -> None:
    """Always fails for good: shows a permanent failure going to the DLQ with its reason."""
    time.sleep(0.001)
    raise PermanentError(f"account {req.account_id} is closed; nothing to audit")


handler = app.lambda_handler
