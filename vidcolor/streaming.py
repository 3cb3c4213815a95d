"""Threads joined by bounded queues: a producer that runs ahead, a consumer that runs behind.

Memory stays bounded by the queue sizes whatever the film's length; an exception in either
thread is re-raised on the main thread; closing stops the thread without hanging.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
_POLL_S = 0.1  # how often a blocked thread checks whether it was told to stop


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def run_ahead(iterable: Iterable[T], maxsize: int, name: str = "producer") -> Iterator[T]:
    """Iterate `iterable` in a thread, at most `maxsize` items ahead of the caller."""
    q: queue.Queue = queue.Queue(maxsize)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in iterable:
                if not _put(q, item, stop):
                    return
            _put(q, _DONE, stop)
        except BaseException as ex:  # handed to the main thread, which re-raises it
            _put(q, _Failed(ex), stop)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


class Consumer:
    """Apply `fn` to each put item in a thread, in order; `close()` waits and re-raises its error."""

    def __init__(self, fn: Callable[[T], None], maxsize: int, name: str = "consumer") -> None:
        self.fn, self.q, self.stop = fn, queue.Queue(maxsize), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name=name, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while not self.stop.is_set():
            try:
                item = self.q.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            try:
                self.fn(item)
            except BaseException as ex:
                self.error = ex
                self.stop.set()
                return

    def put(self, item: T) -> None:
        if self.error is not None or not _put(self.q, item, self.stop):
            self.close()

    def close(self) -> None:
        """Finish the queued items, stop, and re-raise the thread's error if it had one."""
        if self.thread.is_alive():
            _put(self.q, _DONE, self.stop)
            self.thread.join()
        if self.error is not None:
            raise self.error

    def cancel(self) -> None:
        """Stop after the item in hand, dropping the queued ones."""
        self.stop.set()
        self.thread.join()
