"""Plain SQL for the few statements every timer and every audited change runs.

Under load a worker fires about 130 timers a second on two cores, and building an ORM
statement took longer than PostgreSQL took to run it: compiling one row's INSERT through
``bulk_create`` cost about 0.5 ms of a worker's processor, writing it out about 0.1 ms
(docs/benchmarks.md, section 2). ``insert_rows`` writes the same INSERT by hand, with each
value prepared by its own field exactly as the ORM prepares it (``pre_save`` and
``get_db_prep_save``), so what is stored is the same. Anything else goes through the ORM.

``execute_committed`` runs a statement that must be committed at once, apart from the
transaction the caller is in."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


def insert_rows(model: type[M], objs: Sequence[M]) -> list[M]:
    """INSERT ``objs`` (new instances of ``model``) in one statement and set their primary
    keys, as ``model.objects.bulk_create(objs)`` does. On a database other than PostgreSQL
    it is ``bulk_create``."""
    if not objs:
        return list(objs)
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    meta = model._meta
    pk = meta.pk
    if pk is None:  # pragma: no cover - every concrete model has one
        raise TypeError(f"{model.__name__} has no primary key")
    fields = [f for f in meta.concrete_fields if f is not pk or getattr(objs[0], pk.attname) is not None]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list[Any] = []
    for obj in objs:
        params.extend(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)
    sql = (  # only the model's own table and column names are formatted in
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES {', '.join([row] * len(objs))} RETURNING {connection.ops.quote_name(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [key for (key,) in cursor.fetchall()]
    for obj, key in zip(objs, keys, strict=True):
        setattr(obj, pk.attname, key)
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)


class _Side(threading.local):
    raw: Any = None  # this thread's own DB-API connection, in autocommit


_side = _Side()
_side_all: list[Any] = []  # every thread's, to close them all (tests, before the database is dropped)
_side_lock = threading.Lock()


def execute_committed(sql: str, params: Sequence[Any]) -> bool:
    """Run one statement on a second connection to the same PostgreSQL database, in
    autocommit, so that it is committed as soon as this returns, whatever becomes of the
    transaction the caller is in (a worker killed before its commit, say). Returns False,
    and runs nothing, on any other database: with SQLite's single writer a second
    connection would wait for the caller's own transaction. A connection that has failed is
    replaced once; a second failure propagates.

    The connection is the backend's own (psycopg), opened with the default connection's
    settings as they are now, and kept for the thread's next call: not a Django connection,
    so it is never closed at the end of a request or task, and any thread may close it."""
    default = connections[DEFAULT_DB_ALIAS]
    if default.vendor != "postgresql":
        return False
    for attempt in (1, 2):
        if _side.raw is None:
            raw = default.get_new_connection(default.get_connection_params())
            raw.autocommit = True
            with _side_lock:
                _side_all.append(raw)
            _side.raw = raw
        try:
            with _side.raw.cursor() as cursor:
                cursor.execute(sql, params)
            return True
        except default.Database.Error:  # type: ignore[attr-defined]  # the driver's own errors
            close_side_connections(only=_side.raw)
            if attempt == 2:
                raise
    return False  # pragma: no cover - the loop returns or raises


def close_side_connections(*, only: Any = None) -> None:
    """Close the connections ``execute_committed`` opened (every thread's, or ``only``)."""
    with _side_lock:
        closing = [raw for raw in _side_all if only is None or raw is only]
        _side_all[:] = [raw for raw in _side_all if raw not in closing]
    for raw in closing:
        with contextlib.suppress(Exception):  # a connection already gone: nothing to close
            raw.close()
    if only is None or _side.raw is only:
        _side.raw = None
