"""Celery entry points: take ids, call a service. Safe to run twice."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def dataset_process_task(dataset_id: int) -> bool:
    from .datasets import dataset_process

    return dataset_process(dataset_id=dataset_id)


@shared_task(acks_late=True, ignore_result=True)
def datasets_sweep_task() -> int:
    from .datasets import datasets_sweep

    return datasets_sweep()
