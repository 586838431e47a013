"""CoalescingTrigger: bursts collapse into one more run, runs never overlap, errors are logged."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from possync.webhooks import CoalescingTrigger


class SlowRun:
    """A run that can be held open, and that notices if two calls overlap."""

    def __init__(self) -> None:
        self.calls = 0
        self.active = 0
        self.overlapped = False
        self.started = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.calls += 1
            self.active += 1
            self.overlapped |= self.active > 1
        self.started.set()
        self.release.wait(10)
        with self.lock:
            self.active -= 1


def test_pokes_during_a_run_collapse_into_exactly_one_more_run() -> None:
    run = SlowRun()
    trigger = CoalescingTrigger(run)
    try:
        trigger.poke()
        assert run.started.wait(5)
        for _ in range(100):
            assert trigger.poke()
        run.release.set()
        assert trigger.wait_idle(5)
        assert run.calls == 2 and trigger.runs == 2
        assert not run.overlapped
    finally:
        run.release.set()
        trigger.close(5)


def test_pokes_from_many_threads_never_overlap_and_none_is_lost() -> None:
    calls: list[float] = []
    active = 0
    overlapped = False
    lock = threading.Lock()

    def run() -> None:
        nonlocal active, overlapped
        with lock:
            active += 1
            overlapped |= active > 1
        time.sleep(0.002)
        with lock:
            active -= 1
            calls.append(time.monotonic())

    trigger = CoalescingTrigger(run)
    try:
        last_poke: list[float] = []

        def poke_many() -> None:
            for _ in range(200):
                trigger.poke()
            last_poke.append(time.monotonic())

        threads = [threading.Thread(target=poke_many) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert trigger.wait_idle(10)
        assert not overlapped
        assert 1 <= len(calls) < 8 * 200
        assert calls[-1] > max(last_poke)  # a run finished after the very last poke
    finally:
        trigger.close(5)


def test_a_failing_run_is_logged_and_the_next_poke_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes = iter([RuntimeError("prefect unreachable"), None])
    done = threading.Event()

    def run() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome
        done.set()

    trigger = CoalescingTrigger(run, name="orders-trigger")
    try:
        with caplog.at_level(logging.ERROR, logger="possync.webhooks"):
            trigger.poke()
            assert trigger.wait_idle(5)
        assert "prefect unreachable" in caplog.text and "Traceback" in caplog.text
        assert "orders-trigger" in caplog.text
        trigger.poke()
        assert done.wait(5) and trigger.runs == 2
    finally:
        trigger.close(5)


def test_close_finishes_a_pending_run_then_refuses_pokes() -> None:
    run = SlowRun()
    trigger = CoalescingTrigger(run)
    trigger.poke()
    assert run.started.wait(5)
    trigger.poke()  # pending behind the running call
    closer = threading.Thread(target=trigger.close, args=(10,))
    closer.start()
    run.release.set()
    closer.join(10)
    assert run.calls == 2
    assert trigger.poke() is False
    assert trigger.close(1)


def test_an_idle_trigger_does_not_run() -> None:
    run = SlowRun()
    trigger = CoalescingTrigger(run)
    time.sleep(0.05)
    assert trigger.close(5)
    assert run.calls == 0


def test_closing_without_the_pending_run_ends_after_the_run_under_way() -> None:
    run = SlowRun()
    trigger = CoalescingTrigger(run)
    try:
        trigger.poke()
        assert run.started.wait(5)
        assert trigger.poke()  # pending behind the run under way
        closer = threading.Thread(target=trigger.close, args=(5,), kwargs={"run_pending": False})
        closer.start()
        time.sleep(0.1)
        run.release.set()
        closer.join(5)
        assert not closer.is_alive()
        assert run.calls == 1 and trigger.runs == 1, "the pending run was dropped"
        assert not trigger.poke(), "closed"
    finally:
        run.release.set()
        trigger.close(5)


def test_closing_runs_the_pending_run_by_default() -> None:
    run = SlowRun()
    trigger = CoalescingTrigger(run)
    trigger.poke()
    assert run.started.wait(5)
    trigger.poke()
    run.release.set()
    assert trigger.close(5)
    assert run.calls == 2
