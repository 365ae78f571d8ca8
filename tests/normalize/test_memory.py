"""no_gc(): the collector paused around the making of many small objects, and only there."""

from __future__ import annotations

import gc

import pytest

from lapor_router.normalize.memory import no_gc


def test_the_collector_is_paused_inside_and_on_again_after():
    assert gc.isenabled()
    with no_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_turns_it_on_again():
    with pytest.raises(ZeroDivisionError), no_gc():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off():
    gc.disable()
    try:
        with no_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_garbage_made_inside_is_collected_later():
    class Node:
        pass

    with no_gc():
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        ids = {id(a), id(b)}
        del a, b
        assert ids <= {id(o) for o in gc.get_objects()}
    gc.collect()
    assert not ids & {id(o) for o in gc.get_objects() if isinstance(o, Node)}
