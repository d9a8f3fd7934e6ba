"""Run independent simulation tasks on local cores or on a Dask cluster.

Planning (and any other many-cohort simulation) splits its work into tasks that each carry
their own random seed, so the results are the same whichever way they run: in this
process, over local worker processes, or over a Dask cluster (`--dask ADDRESS`). Results
come back in task order; `on_done` is called as each task finishes (for a progress bar).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from netlm_bayes.errors import InputError

# Below this many tasks, starting worker processes (about 3 s here) costs more than they
# save: 20 tasks of 100 cohorts took 6.6 s in-process and 7.9 s on 2 workers; 200 tasks
# took 21.8 s and 14.4 s.
PARALLEL_FROM_TASKS = 40


def default_workers(task_count: int | None = None) -> int:
    """All cores, or 1 when the work is too small to pay for starting processes."""
    if task_count is not None and task_count < PARALLEL_FROM_TASKS:
        return 1
    return max(1, os.cpu_count() or 1)


def run_tasks[Task, Result](
    fn: Callable[[Task], Result],
    tasks: Sequence[Task],
    workers: int = 1,
    dask_address: str | None = None,
    on_done: Callable[[], None] = lambda: None,
) -> list[Result]:
    if dask_address:
        return _dask(fn, tasks, dask_address, on_done)
    if workers <= 1 or len(tasks) <= 1:
        results = []
        for task in tasks:
            results.append(fn(task))
            on_done()
        return results
    # forkserver: the parent may hold BLAS or sampler threads, and fork() after threads can
    # deadlock; workers import only NumPy and SciPy.
    context = multiprocessing.get_context("forkserver")
    results: list = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            on_done()
    return results


def _dask(fn, tasks, address: str, on_done) -> list:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise InputError("--dask needs the `distributed` package") from exc
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"--dask {address}: cannot reach a Dask scheduler there ({exc})") from exc
    try:
        futures = client.map(fn, list(tasks), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        results: list = [None] * len(tasks)
        for future in dask_completed(futures):
            results[index[future.key]] = future.result()
            on_done()
        return results
    finally:
        client.close()
