"""Run independent simulation tasks on local cores or on a Dask cluster.

Planning (and any other many-cohort simulation) splits its work into tasks that each carry
their own random seed, so the results are the same whichever way they run: in this
process, over local worker processes, or over a Dask cluster (`--dask ADDRESS`). Results
come back in task order; `on_done` is called as each task finishes (for a progress bar).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager

from netlm_bayes.errors import InputError, option

# Below this many tasks, starting worker processes (about 3 s here) costs more than they
# save: 20 tasks of 100 cohorts took 6.6 s in-process and 7.9 s on 2 workers; 200 tasks
# took 21.8 s and 14.4 s.
PARALLEL_FROM_TASKS = 40


def default_workers(task_count: int | None = None) -> int:
    """All cores, or 1 when the work is too small to pay for starting processes."""
    if task_count is not None and task_count < PARALLEL_FROM_TASKS:
        return 1
    return max(1, os.cpu_count() or 1)


def start_workers_early(modules: list[str]) -> None:
    """Start the process that local workers are forked from now, importing `modules` there,
    so that the workers a command starts later begin with them imported. Their imports then
    run beside this process's own instead of after them: 2.5 s of a warm `make fit`, more
    on a fresh machine, where every import also compiles its bytecode."""
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(modules)
    forkserver.ensure_running()


def run_tasks[Task, Result](
    fn: Callable[[Task], Result],
    tasks: Sequence[Task],
    workers: int = 1,
    dask_address: str | None = None,
    on_done: Callable[[], None] = lambda: None,
    on_result: Callable[[int, Result], None] = lambda index, result: None,
) -> list[Result]:
    """`on_result(index, result)` is called here as each task's result arrives, so that
    work depending on some of them can start while the rest still run."""
    if dask_address:
        return _dask(fn, tasks, dask_address, on_done, on_result)
    if workers <= 1 or len(tasks) <= 1:
        results = []
        for index, task in enumerate(tasks):
            results.append(fn(task))
            on_result(index, results[-1])
            on_done()
        return results
    # forkserver: the parent may hold BLAS or sampler threads, and fork() after threads can
    # deadlock. Workers start from the fork server, which imports only what
    # `start_workers_early` asked of it.
    context = multiprocessing.get_context("forkserver")
    results: list = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            index = futures[future]
            results[index] = future.result()
            on_result(index, results[index])
            on_done()
    return results


def silent(message: str) -> None:
    """A `say` that drops its messages (a task on a cluster, with no way back)."""


class _Send:
    """A picklable `say(message)` for worker processes: puts it on the parent's queue."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, message: str) -> None:
        self.queue.put(message)


@contextmanager
def messages(
    on_message: Callable[[str], None], workers: int, remote: bool = False
) -> Iterator[Callable[[str], None]]:
    """A `say` that tasks call with progress messages, and `on_message` in this process
    receives as they come. With one worker it is `on_message` itself; with more, a queue
    that a thread here drains (workers cannot call back into the parent). On a cluster
    (`remote`), whose workers cannot reach that queue, it drops them."""
    if remote:
        yield silent
        return
    if workers <= 1:
        yield on_message
        return
    with multiprocessing.get_context("forkserver").Manager() as manager:
        queue = manager.Queue()

        def drain():
            while (message := queue.get()) is not None:
                on_message(message)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            yield _Send(queue)
        finally:
            queue.put(None)
            reader.join()


def _dask(fn, tasks, address: str, on_done, on_result) -> list:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise InputError(f"{option('dask')} needs the `distributed` package") from exc
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"{option('dask')} {address}: cannot reach a Dask scheduler there ({exc})"
        ) from exc
    try:
        futures = client.map(fn, list(tasks), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        results: list = [None] * len(tasks)
        for future in dask_completed(futures):
            position = index[future.key]
            results[position] = future.result()
            on_result(position, results[position])
            on_done()
        return results
    finally:
        client.close()
