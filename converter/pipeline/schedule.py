"""The order of work: each group of the work list in figid order, reused from the last build when its inputs are
unchanged, else converted by the workers a window ahead of the writer."""

from __future__ import annotations

import gc
import itertools
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.pool import AsyncResult

from ..records.sources import Source
from .index import PreviousBuild
from .tasks import (
    _LOOKAHEAD,
    _TASK_GROUPS,
    _WINDOW,
    Converted,
    Reused,
    Settings,
    _convert_task,
    _Event,
    _Group,
    _input_key,
    _Planned,
    _Task,
    _TaskResult,
    configure,
)
from .worklist import WorkList


def _plan(work: WorkList, previous: PreviousBuild | None) -> Iterator[tuple[list[Source], str | None, str | None,
                                                                          int | None]]:
    """Each group of pages, in figid order: its pages, input key, figid, and where the last build's index has it
    (None: convert it)."""
    reusable = previous is not None and not previous.empty
    for sources, figid in work.groups():
        key = _input_key(sources, [figid] * len(sources)) if reusable else None
        yield sources, key, figid, previous.find(key) if key is not None and previous is not None else None


class _Later:
    """A task run when its result is asked for: the serial stand-in for a pool's ``AsyncResult``."""

    def __init__(self, task: _Task) -> None:
        self.task = task

    def get(self) -> _TaskResult:
        return _convert_task(self.task)


def _schedule(plan: Iterable[tuple[list[Source], str | None, str | None, int | None]],
              jobs: int, settings: Settings) -> Generator[_Event, None, None]:
    """The plan's groups in order, each as ``("reuse", where, pages)`` or ``("new", task number, converted group,
    whether it is its task's last)``; the new ones converted in ``jobs`` worker processes.

    Groups to convert go to the workers in tasks of ``_TASK_GROUPS``, a window of tasks ahead of the group being
    yielded (imap would run ahead without bound, its results and their shard files piling up while the parent
    copies). At most ``_LOOKAHEAD`` groups are read ahead of it: a rebuild's long runs of reused groups stay on
    disk too. Both bounds keep memory and disk flat with corpus size."""
    import multiprocessing

    with ExitStack() as stack:
        pool = None

        def submit(task: _Task) -> _Later | AsyncResult[_TaskResult]:
            nonlocal pool
            if pool is None:
                if jobs <= 1 or (exhausted and not tasks):  # one task in all (a record, or a small rebuild)
                    return _Later(task)
                pool = stack.enter_context(multiprocessing.get_context("fork").Pool(jobs, configure, (settings,)))
                stack.enter_context(_collector_paused())
            return pool.apply_async(_convert_task, (task,))

        order: deque[tuple[int, int] | None] = deque()  # groups read from the plan and not yielded: (where, pages)
        # or None (a task has it)
        tasks: deque[_Later | AsyncResult[_TaskResult]] = deque()  # tasks submitted and not yet taken
        batch: list[_Planned] = []  # the groups of the next task
        numbers = itertools.count()
        current: deque[_Group] = deque()  # the converted groups of the task being yielded
        plan = iter(plan)
        exhausted = False

        def submit_batch() -> None:
            if batch:
                tasks.append(submit((next(numbers), batch.copy())))
                batch.clear()

        while True:
            while not exhausted and len(tasks) < _WINDOW * jobs and len(order) < _LOOKAHEAD:
                entry = next(plan, None)
                if entry is None:
                    exhausted = True
                    submit_batch()
                    break
                sources, key, figid, where = entry
                if where is not None:
                    order.append((where, len(sources)))
                    continue
                order.append(None)
                batch.append((sources, key, figid))
                if len(batch) >= _TASK_GROUPS:
                    submit_batch()
            if not order:
                return
            queued = order.popleft()
            if queued is not None:
                yield Reused(*queued)
                continue
            if not current:
                if not tasks:
                    submit_batch()  # the group is in the batch not yet sent: read-ahead stopped before it filled
                number, groups = tasks.popleft().get()
                current.extend(groups)
            group = current.popleft()
            yield Converted(number, group, not current)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """While workers convert, the parent only adds small acyclic objects per record (figids, report lines, index
    entries): the cyclic garbage collector would find nothing, yet re-scan that growing state again and again
    (about a tenth of the parent's time at 20,000 records). Workers were forked before, with it running."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
