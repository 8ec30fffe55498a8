"""Real Celery processes for the integration tests: a worker and beat started with
``subprocess`` on the test database, a real Redis broker and the ``mailbox`` SMTP server.

Nothing here may hang: every wait has a deadline and every process started is stopped in
teardown (SIGTERM, then SIGKILL of its whole process group). When a test fails, the tail of
each process's log is attached to the report."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
# The shared Redis keeps its db 0 for others; the tests' broker lives in (and flushes) this one.
BROKER_DB = 13
START_TIMEOUT = 30.0  # seconds for a worker or beat to come up
STOP_TIMEOUT = 10.0  # seconds for a warm shutdown before SIGKILL
LOG_TAIL_LINES = 80

T = TypeVar("T")
STACK_KEY = pytest.StashKey["CeleryStack"]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: starts real Celery worker and beat processes on a real Redis (needs REDIS_URL and PostgreSQL)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    stack = item.stash.get(STACK_KEY, None)
    if stack is not None and report.failed:
        for title, text in stack.log_tails():
            report.sections.append((title, text))
    return report


def wait_until(predicate: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def database_url() -> str:
    """A URL for the database this test uses (test_<name>), for the worker and beat."""
    from django.db import connection

    s = connection.settings_dict
    credentials = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        credentials += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "localhost"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(s['NAME'], safe='')}"


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


class Proc:
    """A process started in its own session (so its whole group can be killed), with its
    output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        self._log_file: IO[bytes] = log.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603 - fixed argv built from our own paths
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def wait_for_log(self, pattern: str, *, timeout: float, what: str) -> re.Match[str]:
        def seen() -> re.Match[str] | None:
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode} while waiting for {what}")
            return re.search(pattern, self.text())

        return wait_until(seen, timeout=timeout, what=f"{what} in the {self.name} log")

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def kill9(self) -> None:
        """kill -9 the process and every child (prefork pool) at once."""
        self._signal_group(signal.SIGKILL)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT)
        finally:
            self._log_file.close()

    def stop(self) -> None:
        """Warm shutdown with a bounded wait, then SIGKILL for the whole group."""
        try:
            if self.alive():
                self.popen.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=STOP_TIMEOUT)
            self._signal_group(signal.SIGKILL)  # stray pool children, or a shutdown that hung
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=STOP_TIMEOUT)
        finally:
            self._log_file.close()


class RedisServer:
    """A private redis-server on a free port, for fault tests: stop it, start it again on
    the same port. No persistence, so a restart loses every queued message."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: Proc | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
            "--daemonize",
            "no",
        ]
        self.proc = Proc(f"redis-server:{self.port}", argv, dict(os.environ), self.dir / "redis.log")
        client = redis_client(self.url)

        def pong() -> bool:
            try:
                return bool(client.ping())
            except Exception:
                return False

        wait_until(pong, timeout=START_TIMEOUT, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None


class CeleryStack:
    """Worker(s), beat and broker for one test; the test process's own producer publishes to
    the same broker while it runs."""

    def __init__(self, tmp_path: Path, mailbox: Any, redis_url: str) -> None:
        self.tmp_path = tmp_path
        self.mailbox = mailbox
        self.shared_broker_url = redis_url_with_db(redis_url, BROKER_DB)
        self.broker_url = self.shared_broker_url
        self.db_url = database_url()
        self.procs: list[Proc] = []
        self.redis_servers: list[RedisServer] = []
        self._producer_url: str | None = None
        self._original_broker_url: str | None = None
        self._count: dict[str, int] = {}
        self.probe_id = ""

    # -- the broker ---------------------------------------------------------------------
    def private_redis(self) -> RedisServer:
        server = RedisServer(self.tmp_path)
        self.redis_servers.append(server)
        server.start()
        return server

    def use_broker(self, url: str) -> None:
        """Start from an empty broker (only this db is flushed) and point this process's
        Celery producer at it, then prove a message really lands there."""
        redis_client(url).flushdb()
        self.broker_url = url
        self._point_producer_at(url)
        from breachdesk.celery import app

        probe = app.send_task("breachdesk.tasks.heartbeat_task", task_id=f"probe-{uuid.uuid4()}")
        length = redis_client(url).llen("celery")
        assert length >= 1, f"the probe message {probe.id} did not reach the broker at {url}"
        self.probe_id = probe.id

    def _point_producer_at(self, url: str) -> None:
        from breachdesk.celery import app

        if self._original_broker_url is None:
            self._original_broker_url = app.conf.broker_url
        self._reset_producer()
        self._set_broker_url(url)
        self._producer_url = url
        self._reset_producer()

    @staticmethod
    def _set_broker_url(url: str) -> None:
        """The settings were read with the CELERY namespace, so the key that wins is
        CELERY_BROKER_URL (setting ``conf.broker_url`` does not override it in Celery 5.6)."""
        from breachdesk.celery import app

        app.conf["CELERY_BROKER_URL"] = url
        assert app.conf.broker_url == url

    @staticmethod
    def _reset_producer() -> None:
        """Close and forget every broker connection and producer pool of this process: kombu
        keeps them in global groups keyed by URL, Celery caches them on the app."""
        from kombu import pools

        from breachdesk.celery import app

        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    def restore_producer(self) -> None:
        if self._original_broker_url is None:
            return

        self._reset_producer()
        self._set_broker_url(self._original_broker_url)
        self._reset_producer()
        self._original_broker_url = None

    # -- processes ----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "breachdesk.settings.dev",
                "DEBUG": "0",
                "DATABASE_URL": self.db_url,
                "CELERY_BROKER_URL": self.broker_url,
                "REDIS_URL": self.broker_url,
                "EMAIL_URL": f"smtp://127.0.0.1:{self.mailbox.port}",
                "TIMER_SWEEP_SECONDS": "1",
                "SERVICE_BASE_URL": "http://testserver",
                "BREACHDESK_VAR_DIR": str(self.tmp_path / "var"),
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _name(self, kind: str) -> str:
        self._count[kind] = self._count.get(kind, 0) + 1
        return f"{kind}{self._count[kind]}"

    def start_worker(self, *, pool: str = "solo", concurrency: int = 1, probe: bool = False) -> Proc:
        """Start a worker and wait until it is consuming. With ``probe`` the worker must
        run the probe message this process published (the producer -> broker -> worker path)."""
        name = self._name("worker")
        argv = [
            str(CELERY),
            "-A",
            "breachdesk",
            "worker",
            "-P",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}-{uuid.uuid4().hex[:8]}@%h",
        ]
        proc = Proc(name, argv, self.env(), self.tmp_path / f"{name}.log")
        self.procs.append(proc)
        proc.wait_for_log(r"\bready\.", timeout=START_TIMEOUT, what="the worker to be ready")
        if probe:
            proc.wait_for_log(
                re.escape(f"heartbeat_task[{self.probe_id}] succeeded"),
                timeout=START_TIMEOUT,
                what="the probe task published by the test process",
            )
        return proc

    def start_beat(self) -> Proc:
        name = self._name("beat")
        argv = [
            str(CELERY),
            "-A",
            "breachdesk",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(self.tmp_path / f"{name}-schedule"),
            "--pidfile",
            str(self.tmp_path / f"{name}.pid"),
        ]
        proc = Proc(name, argv, self.env(), self.tmp_path / f"{name}.log")
        self.procs.append(proc)
        proc.wait_for_log(r"Sending due task timers-sweep", timeout=START_TIMEOUT, what="the first sweep")
        return proc

    def up(self, *, broker_url: str | None = None, pool: str = "solo", concurrency: int = 1) -> tuple[Proc, Proc]:
        """Broker (flushed), producer, a worker that has run the probe, and beat sweeping."""
        self.use_broker(broker_url or self.broker_url)
        worker = self.start_worker(pool=pool, concurrency=concurrency, probe=True)
        beat = self.start_beat()
        return worker, beat

    def log_tails(self) -> list[tuple[str, str]]:
        tails = [(f"{p.name} log (tail, pid {p.pid})", p.tail()) for p in self.procs]
        for server in self.redis_servers:
            log = server.dir / "redis.log"
            if log.exists():
                tails.append((f"redis-server:{server.port} log (tail)", log.read_text(errors="replace")[-4000:]))
        return tails

    def teardown(self) -> None:
        try:
            for proc in reversed(self.procs):
                proc.stop()
        finally:
            try:
                for server in self.redis_servers:
                    server.stop()
                if self._producer_url == self.shared_broker_url:
                    with contextlib.suppress(Exception):
                        redis_client(self.shared_broker_url).flushdb()  # only the tests' own db
            finally:
                self.restore_producer()


@pytest.fixture
def celery_stack(
    request: pytest.FixtureRequest, transactional_db: None, tmp_path: Path, mailbox: Any
) -> Iterator[CeleryStack]:
    """A real broker, worker and beat for this test (started by the test: ``up()``), all
    stopped afterwards, before the test database is flushed."""
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        pytest.skip("needs REDIS_URL (a real Redis) for a real Celery worker")
    stack = CeleryStack(tmp_path, mailbox, redis_url)
    request.node.stash[STACK_KEY] = stack
    try:
        yield stack
    finally:
        stack.teardown()
