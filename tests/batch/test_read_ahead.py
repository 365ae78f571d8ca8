"""The next chunk is read on a thread while this one is routed: in order, one ahead at most,
errors where they happened, and nothing left running when the run stops."""

from __future__ import annotations

import threading
import time

import pytest

from lapor_router.batch.run import _read_ahead


class Source:
    """A reader: counts what was taken from it, on which threads, and whether it closed."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.taken = 0
        self.threads: set[str] = set()
        self.closed = False

    def __iter__(self):
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    raise ValueError(f"bad block at {i}")
                self.taken += 1
                self.threads.add(threading.current_thread().name)
                yield i
        finally:
            self.closed = True


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lapor-reader")]


def test_every_item_in_order_read_on_the_reader_thread():
    src = Source(100)
    assert list(_read_ahead(iter(src))) == list(range(100))
    assert src.closed
    assert all(name.startswith("lapor-reader") for name in src.threads)
    assert not _readers()


def test_one_item_ahead_at_most():
    src = Source(10)
    items = _read_ahead(iter(src))
    for k in range(1, 6):
        assert next(items) == k - 1
        time.sleep(0.05)  # time for the thread to run ahead, if it would
        assert src.taken <= k + 1
    items.close()


def test_an_error_comes_after_the_items_before_it():
    got = []
    with pytest.raises(ValueError, match="bad block at 3"):
        for item in _read_ahead(iter(Source(10, fail_at=3))):
            got.append(item)
    assert got == [0, 1, 2]
    assert not _readers()


def test_stopping_early_closes_the_source_and_ends_the_thread():
    src = Source(1000)
    items = _read_ahead(iter(src))
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert src.closed and src.taken <= 3
    assert not _readers()


def test_an_empty_source():
    assert list(_read_ahead(iter(Source(0)))) == []
