"""Run something once more after a burst of pokes, never twice at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["CoalescingTrigger"]

logger = logging.getLogger("possync.webhooks")


class CoalescingTrigger:
    """One background thread that calls `run` when poked.

    Pokes that arrive while `run` is busy collapse into exactly one more call after it:
    each sync run reads every order changed since its cursor, so a burst of webhooks
    needs one follow-up run, not one per webhook, and a poke is never lost. An exception
    in `run` is logged with its traceback and the thread carries on.
    """

    def __init__(self, run: Callable[[], object], *, name: str = "possync-trigger") -> None:
        self._run = run
        self._name = name
        self._cond = threading.Condition()
        self._pending = False
        self._running = False
        self._closed = False
        self._runs = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def runs(self) -> int:
        """Calls of `run` finished so far (failed ones included)."""
        with self._cond:
            return self._runs

    def poke(self) -> bool:
        """Ask for a run; False (and a warning) once the trigger is closed."""
        with self._cond:
            if self._closed:
                logger.warning("%s: poke after close ignored", self._name)
                return False
            self._pending = True
            self._cond.notify_all()
            return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no run is pending or running; False if `timeout` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._pending or self._running), timeout)

    def close(self, timeout: float | None = None, *, run_pending: bool = True) -> bool:
        """Refuse new pokes, finish a pending run (unless `run_pending` is False: at
        shutdown the schedule's next run catches up instead), stop; True when the thread
        has ended."""
        with self._cond:
            self._closed = True
            if not run_pending and self._pending:
                logger.info("%s: closed with a run pending; the schedule does it", self._name)
                self._pending = False
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                self._pending = False
                self._running = True
            try:
                self._run()
            except Exception:
                logger.exception("%s: run failed; the next poke runs it again", self._name)
            finally:
                with self._cond:
                    self._running = False
                    self._runs += 1
                    self._cond.notify_all()
