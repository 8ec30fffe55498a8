"""Celery entry points: take ids, call a service. Safe to run twice."""

from celery import shared_task

from .services.timers import firing_inline, timer_fire, timers_sweep


@shared_task(acks_late=True, ignore_result=True)
def timer_fire_task(timer_id: int, token: str) -> bool:
    with firing_inline():
        return timer_fire(timer_id=timer_id, token=token)


@shared_task(acks_late=True, ignore_result=True)
def timers_sweep_task() -> int:
    with firing_inline():
        fired = timers_sweep()
    if fired >= 200:
        timers_sweep_task.delay()  # more are due: carry on without waiting for the next beat
    return fired


@shared_task(acks_late=True, ignore_result=True)
def letter_batch_task(batch_id: int) -> bool:
    from .services.letters import letter_batch_run

    return letter_batch_run(batch_id=batch_id)


@shared_task(acks_late=True, ignore_result=True)
def letter_batches_sweep_task() -> int:
    from .services.letters import letter_batches_sweep

    return letter_batches_sweep()
