"""One CPU thread for loops of tiny tensor operations.

For them torch's intra-op threads cost more in synchronization than they save, and far
more when other processes share the cores (measured on this project's 2-core machines:
a slider's grid 20 ms on one thread against 350-750 ms on two; the VQ chapter's
``ema_kmeans`` 0.1 s against 9 s; the control-variates chapter's error table 7 s
against 22 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def one_thread() -> Iterator[None]:
    """``with one_thread():`` runs its body on one CPU thread, restoring the number
    of threads after (also after an error)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
