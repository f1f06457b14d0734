"""Many solvers, one pass: each runs unchanged in its own thread, and their passes are batched.

A solver asks its :class:`~logreg_spark.core.engine.PassEngine` for the sums at
one point and waits for them. Here every solver gets a :class:`ModelEngine`
that hands its request to a shared :class:`Batcher` and blocks. When every
solver still running is waiting, the batcher runs one shared pass for all their
requests (:meth:`~logreg_spark.core.engine.SharedPassEngine.run_shared`: each
block read once, one product with all the points) and wakes them with their
sums. A solver that finishes drops out; the passes go on for the others.

Each model's sequence of points depends only on its own sums, so a model's
path is the same whatever else shares its passes (to the rounding of the
stacked products; a pass lists the requests in the models' order, so the rounding
does not depend on which thread asked first). The threads run the solvers' small vector arithmetic (and
whatever else a fit does between passes); every shared pass runs on the calling
thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from ..core.engine import SharedPassEngine
from ..core.sums import HeldOut, Layout, Request, Sums
from ..training.solving import one_blas_thread

T = TypeVar("T")


class Cancelled(RuntimeError):
    """A pass that will never run: another model's run, or a shared pass, failed."""


@dataclass
class _Slot:
    """One waiting request and, once the pass ran, its outcome."""

    request: Request
    order: int  # the model's place in :meth:`Batcher.run`'s list: a pass lists requests in this order
    result: tuple[Sums, HeldOut] | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def end(self, result: tuple[Sums, HeldOut] | None = None, error: BaseException | None = None) -> None:
        """Hand the waiting model its sums, or the error that ends it."""
        self.result, self.error = result, error
        self.done.set()


@dataclass
class Batcher:
    """Collects the requests of the running solvers and runs them as one pass."""

    engine: SharedPassEngine
    #: Called after each shared pass with the number of passes so far and the runs in this one.
    on_pass: Callable[[int, int], None] | None = None
    passes: int = 0
    _pending: list[_Slot] = field(default_factory=list)
    _running: int = 0
    _failed: BaseException | None = None
    _ready: threading.Condition = field(default_factory=threading.Condition)
    _order: dict[int, int] = field(default_factory=dict)  # thread id → its model's place

    def submit(self, request: Request) -> tuple[Sums, HeldOut]:
        """Called by a solver's thread: wait for the next shared pass and return this request's sums."""
        slot = _Slot(request, self._order.get(threading.get_ident(), 0))
        with self._ready:
            if self._failed is not None:
                raise Cancelled("the tuning run failed") from self._failed
            self._pending.append(slot)
            self._ready.notify_all()
        slot.done.wait()
        if slot.error is not None:
            raise Cancelled("the tuning run failed") from slot.error
        assert slot.result is not None, "a finished slot holds its result or its error"
        return slot.result

    def run(self, models: list[Callable[[], T]]) -> list[T]:
        """Run every model's function in its own thread, their passes batched, until all end;
        their results in order. The first error of any of them (or of a pass) is raised."""
        results: list[T | None] = [None] * len(models)
        errors: list[BaseException] = []

        def body(i: int, model: Callable[[], T]) -> None:
            with self._ready:
                self._order[threading.get_ident()] = i
            try:
                results[i] = model()
            except Cancelled:
                pass
            except BaseException as err:  # noqa: BLE001 - handed to the driving thread
                with self._ready:
                    errors.append(err)
                    self._fail(err)
            finally:
                with self._ready:
                    self._running -= 1
                    self._ready.notify_all()

        threads = [threading.Thread(target=body, args=(i, m), daemon=True) for i, m in enumerate(models)]
        self._running = len(threads)
        # The models' steps are small vector operations, one thread at a time under the GIL. A
        # BLAS with its own threads would run each dot product of over 10,000 numbers on
        # several, whose waiting spins take the cores from the rest of the driver (and in local
        # mode from the executors): 100,000 × 10,000 sparse, 60 models, the time between passes
        # fell from 7 s to 2 s with one BLAS thread.
        with one_blas_thread():
            for thread in threads:
                thread.start()
            try:
                self._serve()
            except BaseException as err:
                with self._ready:
                    errors.append(err)
                    self._fail(err)
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
        return results  # type: ignore[return-value]  # every model returned (no error)

    def _serve(self) -> None:
        """Run a shared pass whenever every running model waits for one, until none runs."""
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._running == 0 or len(self._pending) >= self._running)
                if self._running == 0 or self._failed is not None:
                    return
                batch, self._pending = sorted(self._pending, key=lambda slot: slot.order), []
            try:
                outcomes = self.engine.run_shared([slot.request for slot in batch])
            except BaseException as err:
                for slot in batch:
                    slot.end(error=err)
                raise
            self.passes += 1
            if self.on_pass is not None:
                self.on_pass(self.passes, len(batch))
            for slot, outcome in zip(batch, outcomes):
                slot.end(outcome)

    def _fail(self, err: BaseException) -> None:
        """Cancel every waiting request and every later one (the lock is held)."""
        self._failed = self._failed or err
        for slot in self._pending:
            slot.end(error=err)
        self._pending = []
        self._ready.notify_all()


@dataclass
class ModelEngine:
    """One model's :class:`~logreg_spark.core.engine.PassEngine`: its passes go through the
    batcher, over the rows not in fold ``held_out`` (all rows when None). The held-out sums of
    every point it was evaluated at are kept, by point, until :meth:`forget`."""

    batcher: Batcher
    held_out: int | None
    seen: dict[bytes, HeldOut] = field(default_factory=dict)

    def run(self, coef: np.ndarray, intercept: float | np.ndarray, layout: Layout) -> Sums:
        sums, held = self.batcher.submit(Request(coef, intercept, layout, self.held_out))
        if self.held_out is not None:
            self.seen[point_key(coef, intercept)] = held
        return sums

    def held_out_at(self, coef: np.ndarray, intercept: float | np.ndarray) -> HeldOut | None:
        """The held-out sums at a point this engine evaluated, or None (always None when it holds
        no rows out)."""
        return self.seen.get(point_key(coef, intercept))

    def forget(self) -> None:
        self.seen.clear()

    def release(self) -> None:
        """Nothing to free: the shared data belongs to the caller."""


def point_key(coef: np.ndarray, intercept: float | np.ndarray) -> bytes:
    """A point's exact bytes."""
    return np.ascontiguousarray(coef, dtype=np.float64).tobytes() + np.asarray(intercept, dtype=np.float64).tobytes()
