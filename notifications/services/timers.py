"""Timers that cannot be lost (DESIGN.md). A timer is a row; a Celery ETA task wakes it up
precisely and a beat sweep claims whatever is due with FOR UPDATE SKIP LOCKED, so a lost,
late or duplicated message changes nothing. Firing is idempotent: a row fires once, and a
wake-up whose token no longer matches the row's is a no-op."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from breachdesk.audit import audit_batch
from breachdesk.db import insert_rows
from incidents.models import Incident

from ..choices import TimerKind, TimerState
from ..models import Deadline, Notification, Timer

logger = logging.getLogger(__name__)

# Set while a worker fires timers. A timer armed there that is already due (the send that
# follows a timeout, the email about a missed clock) is fired by the same worker as soon as
# the transaction that armed it commits, instead of taking a trip through the broker and
# the queue behind everything else. Its row is committed first, so if the worker dies in
# between, the sweep fires it.
_fire_inline: ContextVar[bool] = ContextVar("breachdesk_fire_inline", default=False)


@contextmanager
def firing_inline() -> Iterator[None]:
    token = _fire_inline.set(True)
    try:
        yield
    finally:
        _fire_inline.reset(token)


def _id(value: int | None) -> int:
    """A foreign key the timer kind guarantees is set."""
    if value is None:
        raise LookupError("timer has no target")
    return value


def timer_arm(
    *,
    kind: TimerKind,
    incident: Incident,
    due_at: datetime,
    notification: Notification | None = None,
    deadline: Deadline | None = None,
    data: dict[str, object] | None = None,
) -> Timer:
    """Create a timer row and, once the transaction commits, an ETA wake-up for it."""
    [timer] = timers_arm(
        incident=incident,
        specs=[TimerSpec(kind=kind, due_at=due_at, notification=notification, deadline=deadline, data=data)],
    )
    return timer


@dataclass(frozen=True)
class TimerSpec:
    kind: TimerKind
    due_at: datetime
    notification: Notification | None = None
    deadline: Deadline | None = None
    data: dict[str, object] | None = None


def timers_arm(*, incident: Incident, specs: list[TimerSpec]) -> list[Timer]:
    """Create several timer rows in one statement, each woken up as ``timer_arm`` does."""
    now = timezone.now()
    timers = insert_rows(
        Timer,
        [
            Timer(
                kind=spec.kind,
                incident=incident,
                due_at=spec.due_at,
                notification=spec.notification,
                deadline=spec.deadline,
                data=spec.data or {},
                created_at=now,
            )
            for spec in specs
        ],
    )
    horizon = timedelta(seconds=settings.TIMER_ETA_HORIZON_SECONDS)
    for timer in timers:
        if timer.due_at - now > horizon:
            # Far-off timers are left to the sweep: an ETA held for hours sits in worker
            # memory and Redis redelivers it after the visibility timeout anyway.
            continue
        if _fire_inline.get() and timer.due_at <= now:
            transaction.on_commit(partial(_fire_now, timer.pk, str(timer.token)))
        else:
            transaction.on_commit(partial(_enqueue_fire, timer.pk, str(timer.token), timer.due_at))
    return timers


def _fire_now(timer_id: int, token: str) -> None:
    try:
        timer_fire(timer_id=timer_id, token=token)
    except Exception:  # the row is committed and pending: the sweep retries it
        logger.exception("timer %s failed when fired inline; the sweep will retry it", timer_id)


def _enqueue_fire(timer_id: int, token: str, due_at: datetime) -> None:
    from ..tasks import timer_fire_task

    try:
        # One quick retry only: the request must not wait on a broker that is down.
        timer_fire_task.apply_async(
            (timer_id, token),
            eta=due_at if due_at > timezone.now() else None,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception:  # the broker is only a wake-up call: the sweep will fire it
        logger.warning("could not enqueue timer %s; the sweep will fire it", timer_id, exc_info=True)


def timers_cancel(
    *, notification: Notification | None = None, deadline: Deadline | None = None, kinds: set[TimerKind] | None = None
) -> int:
    qs = Timer.objects.filter(state=TimerState.PENDING)
    if notification is not None:
        qs = qs.filter(notification=notification)
    if deadline is not None:
        qs = qs.filter(deadline=deadline)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    with transaction.atomic(savepoint=False):
        # A timer a worker is firing right now is skipped, not waited for: the worker holds
        # its row and is about to lock the notification or deadline the caller holds, so
        # waiting would deadlock. Every handler re-reads its notification or deadline under
        # lock and does nothing once it has been confirmed, withdrawn, met or moved.
        ids = list(qs.select_for_update(skip_locked=True, no_key=True).values_list("pk", flat=True))
        # Rotating the token as well makes any wake-up already in flight a no-op.
        return Timer.objects.filter(pk__in=ids).update(state=TimerState.CANCELLED, token=uuid.uuid4())


def timer_fire(*, timer_id: int, token: str) -> bool:
    """The ETA path: fire this timer if it is still pending, due, and armed with ``token``."""
    try:
        wanted = int(timer_id)
        armed = _TOKEN.get_db_prep_value(uuid.UUID(str(token)), connection)
    except (TypeError, ValueError):
        return False  # not a timer and token this service ever issued
    with transaction.atomic():
        timer = _claim(
            "id = %s AND state = %s AND token = %s AND due_at <= %s", [wanted, TimerState.PENDING.value, armed]
        )
        if timer is None:
            return False  # stale, already fired, not yet due, or being fired by the sweep
        _run(timer)
    return True


def timers_sweep(*, limit: int = 200) -> int:
    """The robust path: fire due timers, one transaction each, skipping rows another worker
    holds. Returns how many fired."""
    fired = 0
    for _ in range(limit):
        with transaction.atomic():
            timer = _claim("state = %s AND due_at <= %s ORDER BY due_at, id LIMIT 1", [TimerState.PENDING.value])
            if timer is None:
                break
            try:
                with transaction.atomic():
                    _run(timer)
            except Exception:
                # A handler that fails must not block the others: push this one back a
                # minute and keep sweeping. Its error is in the log.
                logger.exception("timer %s (%s) failed; retrying in 60 s", timer.pk, timer.kind)
                Timer.objects.filter(pk=timer.pk).update(
                    state=TimerState.PENDING, fired_at=None, due_at=timezone.now() + timedelta(seconds=60)
                )
                continue
        fired += 1
    return fired


_TIMERS = Timer._meta.db_table
_TOKEN = Timer._meta.get_field("token")
_DUE_AT = Timer._meta.get_field("due_at")


def _claim(condition: str, params: list[object]) -> Timer | None:
    """Lock the first pending timer that meets ``condition`` (SQL on the timers table, with
    ``due_at <= %s`` last, which is given now), skipping rows another transaction holds, and
    mark it fired. Call inside the transaction that runs it.

    On PostgreSQL this is one statement, written out: a timer is fired about 8,000 times a
    minute under load (docs/benchmarks.md, section 2), and building the two ORM queries took
    more of a worker's processor than running them. Elsewhere (SQLite, which has no row
    locks to skip), the same through the ORM."""
    now = timezone.now()
    at = _DUE_AT.get_db_prep_value(now, connection)
    if connection.vendor == "postgresql":
        sql = (  # only fixed SQL is formatted in; every value is a parameter
            f"UPDATE {_TIMERS} SET state = %s, fired_at = %s WHERE id = ("  # noqa: S608
            f"SELECT id FROM {_TIMERS} WHERE {condition} FOR NO KEY UPDATE SKIP LOCKED) RETURNING *"
        )
        return next(iter(Timer.objects.raw(sql, [TimerState.FIRED.value, at, *params, at])), None)
    timers = Timer.objects.raw(f"SELECT * FROM {_TIMERS} WHERE {condition}", [*params, at])  # noqa: S608
    timer = next(iter(timers), None)
    if timer is not None:
        timer.state, timer.fired_at = TimerState.FIRED, now
        timer.save(update_fields=["state", "fired_at"])
    return timer


def _run(timer: Timer) -> None:
    handler = _handlers()[TimerKind(timer.kind)]
    with audit_batch():
        handler(timer)


def _handlers() -> dict[TimerKind, Callable[[Timer], None]]:
    from . import deadlines, delivery, escalations

    return {
        TimerKind.NOTIFICATION_SEND: delivery.on_send_timer,
        TimerKind.NOTIFICATION_TIMEOUT: escalations.on_timeout_timer,
        TimerKind.NOTIFICATION_REMINDER: escalations.on_reminder_timer,
        TimerKind.DEADLINE_DUE: deadlines.on_due_timer,
        TimerKind.DEADLINE_REMINDER: deadlines.on_reminder_timer,
    }
