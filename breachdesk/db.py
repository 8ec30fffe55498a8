"""Plain SQL for the few statements every timer and every audited change runs.

Under load a worker fires about 130 timers a second on two cores, and building an ORM
statement took longer than PostgreSQL took to run it: compiling one row's INSERT through
``bulk_create`` cost about 0.5 ms of a worker's processor, writing it out about 0.1 ms
(docs/benchmarks.md, section 2). ``insert_rows`` writes the same INSERT by hand, with each
value prepared by its own field exactly as the ORM prepares it (``pre_save`` and
``get_db_prep_save``), so what is stored is the same. Anything else goes through the ORM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection
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
