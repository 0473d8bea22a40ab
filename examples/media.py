"""Example app with two queues: quick thumbnails on Lambda, long transcodes on the worker.

One queue would make the slowest task set every task's timeout, and a burst of hour-long
transcodes would delay every thumbnail behind it. So ``video.transcode`` travels on its own
queue, ``long``, drained by the container worker (no 15-minute limit, four at a time per
container), while ``thumbnail.make`` stays on the default queue, drained by Lambda.

Run it locally with ``taskworker dev examples.media:app`` (both consumers side by side),
one queue's worker with ``taskworker worker examples.media:app --queue long``, or deploy
it with ``infra/``.
"""

from __future__ import annotations

import hashlib
import time

from pydantic import BaseModel, Field

from taskworker import TaskApp, TaskContext

app = TaskApp("media")

app.queue("default", consumer="lambda", batch_size=10, max_concurrency=50)
app.queue("long", consumer="worker", concurrency=4, max_receive_count=3)


class Thumb(BaseModel):
    image_url: str = Field(min_length=1, max_length=1024)
    width: int = Field(default=256, ge=16, le=4096)


class ThumbOut(BaseModel):
    thumbnail_url: str


@app.task("thumbnail.make", timeout=20)
def thumbnail(req: Thumb) -> ThumbOut:
    """Quick work: a few milliseconds, well inside Lambda's limits."""
    key = hashlib.sha1(f"{req.image_url}:{req.width}".encode()).hexdigest()[:12]
    return ThumbOut(thumbnail_url=f"s3://thumbs/{key}-{req.width}.jpg")


class Video(BaseModel):
    video_url: str = Field(min_length=1, max_length=1024)
    seconds: float = Field(default=0.2, ge=0, le=3600, description="how long the transcode works")


class VideoOut(BaseModel):
    output_url: str
    worked_seconds: float


@app.task("video.transcode", timeout=3600, queue="long")
def transcode(req: Video, ctx: TaskContext) -> VideoOut:
    """Long work: up to an hour, which no Lambda queue may carry (refused at import)."""
    started = time.monotonic()
    steps = max(1, int(req.seconds / 0.1))
    for step in range(steps):
        time.sleep(req.seconds / steps)
        ctx.report_progress(step + 1, steps)
    key = hashlib.sha1(req.video_url.encode()).hexdigest()[:12]
    return VideoOut(output_url=f"s3://videos/{key}.mp4", worked_seconds=round(time.monotonic() - started, 3))
