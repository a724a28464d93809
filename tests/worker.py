"""A real Celery worker for the job tests: `celery worker --pool=solo` on a private queue of
the real Redis, working on the database pytest created, its log collected line by line.
The `worker` fixture is made available to every test file by tests/conftest.py."""

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from isms.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def worker_database_url():
    """The URL of the database pytest created, for the worker."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        return os.environ.get("DATABASE_URL", "")
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    """`celery worker --pool=solo` on a private queue, its log collected line by line."""

    def __init__(self, queue, mail_dir, env=None):
        """`env` adds to or overrides the worker's environment, e.g. an smtp:// EMAIL_URL."""
        self.queue = queue
        self.mail_dir = mail_dir
        env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": worker_database_url(),
            # Three slashes, as the README documents: an absolute directory.
            "EMAIL_URL": f"filemail://{mail_dir}",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.lines = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "isms",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "-Q",
                queue,
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self):
        return "".join(self.lines)

    def result_of(self, task, task_id=None, timeout=60):
        """What the worker logged as the task's return value, once it has run it."""
        done = re.compile(
            rf"Task {re.escape(task)}\[{re.escape(task_id) if task_id else '[^]]+'}\] "
            r"(?:succeeded in [\d.e-]+s: (?P<value>.*)|raised)"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := done.search(line):
                    assert match["value"] is not None, f"{task} failed:\n{self.output}"
                    return match["value"].strip()
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"the worker did not run {task} within {timeout} s:\n{self.output}")

    def kill(self):
        """SIGKILL, as the OOM killer or a lost container would: no shutdown, no goodbye to
        the broker; what it was running stays unacknowledged."""
        self.process.kill()
        self.process.wait()
        self.reader.join(timeout=5)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)


@pytest.fixture
def worker(tmp_path, monkeypatch):
    queue = f"isms-test-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    # What the portal queues on commit (the opening notification) goes to this worker too,
    # not to the shared default queue.
    monkeypatch.setattr(celery_app.conf, "task_default_queue", queue)
    worker = Worker(queue, mail_dir)
    try:
        yield worker
    finally:
        worker.stop()
        # Whatever a failed test left in the private queue goes with it.
        with celery_app.connection_for_write() as broker:
            client = broker.default_channel.client
            client.delete(queue, f"_kombu.binding.{queue}")
