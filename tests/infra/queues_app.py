"""Apps with declared queues for the infra tests: quick tasks on a Lambda default queue,
long ones on two worker queues, ordered ones on a FIFO Lambda queue."""

from __future__ import annotations

from pydantic import BaseModel

from taskworker import TaskApp

app = TaskApp("media")


class Thumb(BaseModel):
    image: str


class Video(BaseModel):
    video: str


class Entry(BaseModel):
    account: str
    cents: int


@app.task("thumbnail.make", timeout=20)
def thumbnail(req: Thumb) -> None:
    return None


@app.task("notify.send", timeout=5)
def notify(req: Thumb) -> None:
    return None


@app.task("video.transcode", timeout=3600, queue="long")
def transcode(req: Video) -> None:
    return None


@app.task("archive.pack", timeout=1200, queue="bulk")
def pack(req: Video) -> None:
    return None


@app.task("ledger.post", timeout=30, queue="ledger.fifo", message_group="accounts")
def post(req: Entry) -> None:
    return None


app.queue("long", consumer="worker", concurrency=4, max_workers=6, max_receive_count=3)
app.queue("bulk", consumer="worker")
app.queue("ledger.fifo", batch_size=5, max_receive_count=8)
app.queue("default", consumer="lambda", batch_size=10, max_concurrency=50)


# A declared Lambda queue whose task fits Lambda's 900 s, but not with the 30 s margin.
tight_app = TaskApp("tight")


@tight_app.task("report.build", timeout=890, queue="reports")
def build(req: Thumb) -> None:
    return None


tight_app.queue("reports", consumer="lambda")
