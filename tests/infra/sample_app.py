"""Task apps used by the infra tests: several tasks, nested models, and a too-long task."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from taskworker import TaskApp

app = TaskApp("sample")


class Period(BaseModel):
    start: str = Field(pattern=r"^\d{4}-\d{2}$")
    months: int = Field(default=1, gt=0, le=12)


class ReportRequest(BaseModel):
    account_id: str = Field(min_length=1, max_length=64)
    period: Period
    previous: list[Period] = Field(default_factory=list, max_length=3)
    kind: Literal["monthly"] = "monthly"
    weight: float = Field(default=1.0, gt=0, lt=10)
    label: str | None = None


class ReportResult(BaseModel):
    rows: int


@app.task("report.generate", timeout=120)
def generate(req: ReportRequest) -> ReportResult:
    return ReportResult(rows=len(req.previous))


class Mail(BaseModel):
    to: str
    pair: tuple[int, str]


@app.task("mail.send", timeout=10)
def send(mail: Mail) -> None:
    return None


class Cleanup(BaseModel):
    older_than_days: int = 30


@app.task("cleanup")
def cleanup(req: Cleanup) -> None:
    return None


long_app = TaskApp("long")


@long_app.task("video.render", timeout=3600)
def render(req: Cleanup) -> None:
    return None


app.schedule(
    "nightly-cleanup", "cron(0 3 * * ? *)", "cleanup", {"older_than_days": 7}, timezone="Europe/Berlin"
)
