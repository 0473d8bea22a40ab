"""The benchmarks' fauxqs: it serves SQS on the port it reports and is gone afterwards.

The server test needs the pinned install (``python -m benchmarks --only worker_fauxqs``
makes it); CI, which has none, skips it, as the quick run reports the fauxqs rows skipped.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from benchmarks import fauxqs_server, local_aws


@pytest.mark.skipif(not fauxqs_server.installed(), reason="fauxqs is not installed")
def test_serves_sqs_on_a_loopback_port_and_stops_with_the_context() -> None:
    with fauxqs_server.running() as endpoint:
        sqs = local_aws.client(endpoint, "sqs")
        url = sqs.create_queue(QueueName="served")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        assert [message["Body"] for message in received] == ["hello"]
    host, port = endpoint.removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), timeout=2):
        pass


def test_install_directory_follows_the_pinned_lock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A changed lock must install afresh rather than reuse an install of other versions."""
    monkeypatch.setenv("TASKWORKER_BENCH_CACHE", str(tmp_path))
    before = fauxqs_server.install_dir()
    lock = tmp_path / "package"
    lock.mkdir()
    for name in fauxqs_server.PACKAGE_FILES:
        (lock / name).write_bytes((fauxqs_server.PACKAGE_DIR / name).read_bytes())
    (lock / "package-lock.json").write_text(
        (lock / "package-lock.json").read_text().replace("2.4.1", "2.4.2")
    )
    monkeypatch.setattr(fauxqs_server, "PACKAGE_DIR", lock)
    assert fauxqs_server.install_dir() != before
    assert fauxqs_server.install_dir().parent == tmp_path
    assert not fauxqs_server.installed()
