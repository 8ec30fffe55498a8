from __future__ import annotations

import itertools
import json
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from breachdesk.audit import GENESIS_HASH, audit_checkpoint, audit_record, audit_verify
from breachdesk.models import AuditChainHead, AuditCheckpoint, AuditEvent
from tests.conftest import DEMO_PASSWORD, is_postgres, requires_postgres
from tests.factories import IncidentFactory

TABLE = AuditEvent._meta.db_table


def _raw_update(sql: str, params: list[int | str]) -> None:
    """Tamper as a database superuser would: on PostgreSQL the append-only trigger has
    to be bypassed first, which only a superuser can do (replica mode skips triggers)."""
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if is_postgres():
            cursor.execute("SET session_replication_role = origin")


@pytest.mark.django_db
def test_events_form_a_chain_from_genesis(org):
    # given the demo organisation's events plus one more
    audit_record(actor=org["siro"], action="test.event", object_type="thing", object_id=1, after={"x": 1})

    # then each event links to the one before, in sequence order
    events = list(AuditEvent.objects.order_by("seq"))
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)
    assert audit_verify().ok


@pytest.mark.django_db
def test_reporting_an_incident_is_audited_with_actor_and_values(org):
    incident = IncidentFactory(reporter=org["reporter"], title="Laptop stolen from car")

    event = AuditEvent.objects.get(action="incident.reported", incident_ref=incident.reference)
    assert event.actor == org["reporter"]
    assert event.actor_username == "reporter"
    assert event.after["title"] == "Laptop stolen from car"
    assert event.after["org_unit"] == "NE-TYNE-NCL"


@pytest.mark.django_db
def test_edited_field_is_detected_and_named(org):
    # given an intact chain
    incident = IncidentFactory(reporter=org["reporter"])
    target = AuditEvent.objects.get(action="incident.reported", incident_ref=incident.reference)
    assert audit_verify().ok

    # when someone edits the stored values directly in SQL
    _raw_update(f"UPDATE {TABLE} SET actor_username = %s WHERE id = %s", ["someone_else", target.id])

    # then verification fails and names that event
    result = audit_verify()
    assert not result.ok
    assert result.first_bad == target.id
    assert "hash" in result.reason
    with pytest.raises(CommandError, match=f"first bad event id {target.id}"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_rewritten_hash_is_detected_at_the_next_event(org):
    # given an attacker who edits an event and recomputes its own hash
    IncidentFactory(reporter=org["reporter"])
    events = list(AuditEvent.objects.order_by("seq"))
    victim, following = events[3], events[4]
    _raw_update(f"UPDATE {TABLE} SET action = %s, hash = %s WHERE id = %s", ["forged", "f" * 64, victim.id])

    # then the forged event's content no longer matches (or, if they fixed the hash, the
    # next event's link breaks)
    result = audit_verify()
    assert not result.ok
    assert result.first_bad in {victim.id, following.id}


@pytest.mark.django_db
def test_deleted_event_is_detected(org):
    IncidentFactory(reporter=org["reporter"])
    events = list(AuditEvent.objects.order_by("seq"))
    gone = events[5]
    _raw_update(f"DELETE FROM {TABLE} WHERE id = %s", [gone.id])

    result = audit_verify()
    assert not result.ok
    assert result.first_bad == events[6].id
    assert "sequence" in result.reason


@pytest.mark.django_db
def test_removed_tail_is_detected(org):
    last = AuditEvent.objects.order_by("-seq").first()
    _raw_update(f"DELETE FROM {TABLE} WHERE id = %s", [last.id])

    result = audit_verify()
    assert not result.ok
    assert "removed" in result.reason


@pytest.mark.django_db
def test_failed_login_is_audited_without_the_password(client, org):
    response = client.post("/accounts/login/", {"username": "reporter", "password": "wrong-password"})

    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.after == {"username": "reporter"}
    assert "wrong-password" not in str(event.after)
    assert audit_verify().ok


@requires_postgres
@pytest.mark.django_db
def test_postgres_trigger_rejects_update_and_delete(org):
    event = AuditEvent.objects.order_by("seq").first()
    for sql in (f"UPDATE {TABLE} SET action = 'x' WHERE id = %s", f"DELETE FROM {TABLE} WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.id])
    event.refresh_from_db()
    assert event.action != "x"
    assert audit_verify().ok


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain(org):
    # given several threads appending at once, each in its own transaction
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(15):
                with transaction.atomic():
                    audit_record(actor=None, action="test.concurrent", object_type="t", object_id=f"{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then every event is there, in one gap-free, verifiable chain
    assert errors == []
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 60
    result = audit_verify()
    assert result.ok, result.reason


def _rewrite_history_from(seq: int) -> None:
    """What a database superuser who knows the hashing scheme would do: change an event,
    recompute every hash after it and the head, so that the chain checks out again."""
    from breachdesk.audit import event_hash

    events = list(AuditEvent.objects.filter(seq__gte=seq).order_by("seq"))
    prev = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else GENESIS_HASH
    for event in events:
        after = {"rewritten": True} if event.seq == seq else event.after
        digest = event_hash(
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            actor_username=event.actor_username,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            incident_ref=event.incident_ref,
            before=event.before,
            after=after,
            prev_hash=prev,
        )
        _raw_update(
            "UPDATE breachdesk_auditevent SET after = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [json.dumps(after), prev, digest, event.seq],
        )
        prev = digest
    _raw_update("UPDATE breachdesk_auditchainhead SET hash = %s WHERE id = %s", [prev, 1])


def test_a_rewritten_history_passes_the_chain_but_not_the_signed_checkpoints(org, settings, tmp_path):
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "elsewhere" / "checkpoints.jsonl"
    IncidentFactory.create(reporter=org["reporter"])
    checkpoint = audit_checkpoint()
    assert checkpoint.seq == AuditChainHead.objects.get().seq
    line = json.loads(settings.AUDIT_CHECKPOINT_FILE.read_text().splitlines()[-1])
    assert line == {**line, "seq": checkpoint.seq, "hash": checkpoint.hash}
    assert audit_verify().ok
    call_command("audit_verify", checkpoints=settings.AUDIT_CHECKPOINT_FILE)

    _rewrite_history_from(checkpoint.seq - 3)
    result = audit_verify()
    assert not result.ok
    assert result.reason.startswith(f"event #{checkpoint.seq} differs from the checkpoint signed")
    assert result.first_bad == AuditEvent.objects.get(seq=checkpoint.seq).pk

    # Deleting the checkpoints from the database as well: the chain alone agrees with
    # itself, and only the copy kept elsewhere shows the rewrite.
    _raw_update("DELETE FROM breachdesk_auditcheckpoint WHERE seq >= %s", [0])
    assert audit_verify().ok
    with pytest.raises(CommandError, match=f"event #{checkpoint.seq} differs"):
        call_command("audit_verify", checkpoints=settings.AUDIT_CHECKPOINT_FILE)


def test_a_forged_checkpoint_is_refused(org, settings, tmp_path):
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.jsonl"
    IncidentFactory.create(reporter=org["reporter"])
    real = audit_checkpoint()
    forged = AuditCheckpoint(seq=real.seq, hash="f" * 64, made_at=real.made_at, signature=real.signature)
    result = audit_verify(checkpoints=[forged])
    assert not result.ok
    assert result.reason == f"checkpoint at #{real.seq} has a bad signature"


def test_beat_makes_the_checkpoint_daily():
    from breachdesk.celery import app

    entry = app.conf.beat_schedule["audit-checkpoint"]
    assert entry["task"] == "breachdesk.tasks.audit_checkpoint_task"
    assert entry["schedule"].hour == {0}


@pytest.mark.django_db
def test_repeated_failures_lock_the_username_everywhere_and_are_audited(client, org, settings):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "siro", "password": "guess"})
    # Locked: even the right password is refused, with a clear message, and audited.
    locked = client.post("/accounts/login/", {"username": "siro", "password": DEMO_PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed sign-ins for this username" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.locked_out", actor_username="siro").exists()
    token = APIClient().post("/api/v1/auth/token/", {"username": "siro", "password": DEMO_PASSWORD})
    assert token.status_code == 429
    assert "Too many failed sign-ins" in token.json()["detail"]
    # Other people are not affected.
    other = client.post("/accounts/login/", {"username": "dpo", "password": DEMO_PASSWORD})
    assert other.status_code == 302
    assert audit_verify().ok
