"""Stopping a run from outside: Ctrl-C, and the signals a closed terminal (SIGHUP) or `kill`, `timeout`, a job
scheduler and a container's stop (SIGTERM) send. Each ends a run as Ctrl-C does: no partial output, a training
run saved after its step. By default those two end the process at once, and a two-hour film's temporary output
stayed beside it, gigabytes of it.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# Windows has no SIGHUP
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopSignal:
    """SIGTERM's and SIGHUP's handler while the command line runs: a KeyboardInterrupt, as for Ctrl-C, so
    that whatever cleans up after Ctrl-C cleans up after them; the signal is kept for the exit code (typer
    answers any KeyboardInterrupt with 130)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: object) -> None:
        self.signum = signum
        raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def stop_signals() -> Iterator[StopSignal]:
    """Handle SIGTERM and SIGHUP with a StopSignal in the body; a signal ignored stays ignored (`nohup`), and
    one a host program handles stays its own. Main thread only: elsewhere nothing changes."""
    stop = StopSignal()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    with _handlers({s: stop for s in STOP_SIGNALS if signal.getsignal(s) is signal.SIG_DFL}):
        yield stop


def leave_stops_to_main() -> None:
    """For a worker process: ignore Ctrl-C and the stop signals, which its main process handles. A terminal's
    Ctrl-C, and a job scheduler's SIGTERM, reach every process of the job: a photo-decoding worker that caught
    one sent it back as its result to a main process already stopping, and stayed blocked on that pipe for good."""
    for s in (signal.SIGINT, *STOP_SIGNALS):
        signal.signal(s, signal.SIG_IGN)


@contextmanager
def deferred_interrupt() -> Iterator[Callable[[], None]]:
    """Hold Ctrl-C and the stop signals until the caller checks for them; a second one interrupts at once.

    A KeyboardInterrupt raised at an arbitrary bytecode can land inside a queue's lock
    handling and leave a thread waiting forever (2 runs in 60: bench/interrupts.py); check()
    raises it only where the caller is consistent: the pipeline's queues, a training step done.
    Outside the main thread (no signals there), or where a signal is ignored or handled by a host
    program, check() does nothing for it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    ours = {s: h for s, h in ((s, signal.getsignal(s)) for s in (signal.SIGINT, *STOP_SIGNALS))
            if h is signal.default_int_handler or isinstance(h, StopSignal)}
    pressed: list[int] = []

    def check() -> None:
        if pressed:
            ours[pressed[0]](pressed[0], None)

    def on_signal(signum: int, frame: object) -> None:
        if pressed:
            ours[signum](signum, frame)
        pressed.append(signum)

    with _handlers(dict.fromkeys(ours, on_signal)):
        yield check


@contextmanager
def _handlers(handlers: dict[int, Callable]) -> Iterator[None]:
    """These handlers for their signals in the body; the ones before them back after it."""
    previous = {s: signal.signal(s, handler) for s, handler in handlers.items()}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
