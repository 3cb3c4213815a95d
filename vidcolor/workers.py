"""Spread the model's batches over CPU cores as slices, each in its own thread with its share of the cores.

torch's CPU threads meet at a barrier after every operation and spin while they wait. In the film
pipeline the decoder and the encoder need cores too: perf showed torch's second thread spending
about 40% of its samples spinning in libgomp, cycles the encoder lacked. Slices of a batch in their own
threads meet once per batch (docs/throughput.md). At most MAX_SLICES of them: a slice's Python steps
hold the GIL, so 16 one-frame slices on 16 cores kept only 4 busy and ran at half the speed of whole
batches; 4 slices of 4 threads ran 1.3-1.4x faster than whole batches (session 15).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

Batch = torch.Tensor | tuple[torch.Tensor, ...]
MAX_SLICES = 4  # end to end at 480p on 16 cores: 2 slices 111 fps, 4 slices 107-114, 16 slices 40-42


def whole(fn: Callable[..., Batch], *batch: torch.Tensor) -> Batch:
    """The batch in one piece (a GPU runs it as one)."""
    return fn(*batch)


class SliceWorkers:
    """`n` threads, each with `threads` torch threads."""

    def __init__(self, n: int, threads: int = 1) -> None:
        self.n, self.threads = n, threads
        self.pool = ThreadPoolExecutor(n, thread_name_prefix="model")
        started = threading.Barrier(n)

        def take_share() -> None:
            torch.set_num_threads(threads)
            started.wait()  # all n wait here at once: n different threads ran this

        for future in [self.pool.submit(take_share) for _ in range(n)]:
            future.result()

    def __call__(self, fn: Callable[..., Batch], *batch: torch.Tensor) -> Batch:
        """fn over slices of the batch (dim 0) in the workers, the results joined in order. A batch of
        fewer frames than workers (big frames: CPU batches are capped by pixels) runs whole in the
        calling thread on all of torch's threads, as without workers (a two-thread team inside a worker
        ran the chroma conversion 2.5x slower, likely libgomp's throttled spinning: threads > cores)."""
        size = batch[0].shape[0]
        if size < self.n:
            torch.set_num_threads(self.n * self.threads)
            try:
                return fn(*batch)
            finally:
                torch.set_num_threads(1)
        bounds = [size * i // self.n for i in range(self.n + 1)]
        futures = [self.pool.submit(fn, *(b[lo:hi] for b in batch)) for lo, hi in zip(bounds, bounds[1:])]
        parts = [f.result() for f in futures]
        if isinstance(parts[0], tuple):
            return tuple(torch.cat(p) for p in zip(*parts))
        return torch.cat(parts)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """The calling thread's torch work on `n` threads until the block ends. Small tensors' steps on more
    spin at the barrier more than they compute: the film's survey (24 pictures at 128 px) took 0.50 s of
    CPU on torch's two threads, 0.17 s on one."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def slice_workers(device: torch.device, n: int | None = None) -> Iterator[Callable[..., Batch]]:
    """A callable (fn, *batch) -> fn(*batch): on a multi-core CPU it runs slices over the cores (up to
    MAX_SLICES, the cores shared among them), and the calling thread's own torch work runs on one thread
    until the block ends; elsewhere, `whole`. `n` (benchmarks): that many slices; 0 for whole batches."""
    cores = torch.get_num_threads()
    n = min(cores, MAX_SLICES if n is None else n)
    if device.type != "cpu" or n < 2:
        yield whole
        return
    with torch_threads(1):  # the caller's serial steps leave the other cores to the codecs
        workers = SliceWorkers(n, cores // n)
        try:
            yield workers
        finally:
            workers.pool.shutdown()
