"""Lost data sets processed by a real Celery worker (prefork, two at once) on the test
database, with Redis as the broker: the upload goes in through the API, the worker
pseudonymises and stores it, and the exact population is there when both are done. A worker
killed mid-way leaves nothing counted, and the job runs again from the start.

Run with REDIS_URL and DATABASE_URL (PostgreSQL) set, as .ci/run does.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from bench.datagen import MAPPINGS, generate
from riskassess import datasets
from riskassess.choices import DataSetStatus
from riskassess.models import LostDataSet, PersonRecord
from riskassess.population import population_get
from tests.factories import IncidentFactory

from .conftest import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real Redis) for a real worker"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
    pytest.mark.django_db(transaction=True),
]

PROCESS_WAIT = 120.0


def post_dataset(client: Any, reference: str, name: str, path: Path, mapping: dict[str, str]) -> int:
    file = io.BytesIO(path.read_bytes())
    file.name = path.name
    response = client.post(
        reverse("api:datasets", args=[reference]),
        {"file": file, "name": name, "mapping": json.dumps(mapping)},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


def test_a_real_worker_processes_two_data_sets_at_once_to_the_exact_population(
    org, celery_stack, api_client_for, settings, tmp_path
):
    settings.DATASET_UPLOAD_DIR = tmp_path / "var" / "uploads"  # the worker's, under its var/
    celery_stack.up(pool="prefork", concurrency=2)
    truth = generate(20_000, tmp_path / "generated", seed=11)
    incident = IncidentFactory.create(reporter=org["reporter"])
    client = api_client_for("dpo")
    ids = {
        post_dataset(client, incident.reference, name, path, MAPPINGS[k]): name
        for k, (name, path) in enumerate(truth.paths.items())
    }
    wait_until(
        lambda: LostDataSet.objects.filter(pk__in=ids, status=DataSetStatus.DONE).count() == len(ids) or None,
        timeout=PROCESS_WAIT,
        what="the worker to process every data set",
    )
    body = client.get(reverse("api:population", args=[incident.reference])).json()
    assert body["unique_people"] == truth.unique_people
    assert {ids[d["id"]]: d["people"] for d in body["datasets"]} == truth.people
    assert list((tmp_path / "var" / "uploads").iterdir()) == []


def test_a_worker_killed_mid_way_counts_nothing_until_the_job_runs_again(
    org, celery_stack, api_client_for, settings, tmp_path
):
    settings.DATASET_UPLOAD_DIR = tmp_path / "var" / "uploads"
    worker, _beat = celery_stack.up()
    truth = generate(300_000, tmp_path / "generated", seed=12)
    incident = IncidentFactory.create(reporter=org["reporter"])
    name, path = next(iter(truth.paths.items()))
    pk = post_dataset(api_client_for("dpo"), incident.reference, name, path, MAPPINGS[0])
    wait_until(
        lambda: LostDataSet.objects.filter(pk=pk, progress__gt=0).first(),
        timeout=PROCESS_WAIT,
        what="the worker to write its first chunk",
    )
    worker.kill9()
    dataset = LostDataSet.objects.get(pk=pk)
    assert dataset.status == DataSetStatus.PROCESSING
    assert not PersonRecord.objects.filter(dataset_id=pk).exists()  # written, but not counted
    assert population_get(incident) is None
    # The sweep takes the job up again once its heartbeat is stale, from the start.
    LostDataSet.objects.filter(pk=pk).update(heartbeat_at=dataset.heartbeat_at - datasets.STALE_AFTER * 2)
    assert datasets.datasets_sweep() == 1
    dataset.refresh_from_db()
    assert dataset.status == DataSetStatus.DONE, dataset.error
    assert dataset.rows == truth.rows[name]
    assert population_get(incident).result["unique_people"] == truth.people[name]
