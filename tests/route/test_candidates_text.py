"""The candidates' text a batch run writes is the same whether it was made while routing
(kept from chunk to chunk) or by the writer, for any candidates a classifier gives."""

from __future__ import annotations

import pandas as pd

from lapor_router.files.writers import _candidate_text
from lapor_router.route.many import _candidates_text_of, candidates_text


def test_kept_and_fresh_texts_agree_and_unhashable_candidates_are_no_error():
    tops = (("road_damage", 0.72), ("flooding", 0.125), ("waste", 1e-07))
    assert candidates_text(tops) == "road_damage:0.72;flooding:0.125;waste:1e-07"
    assert _candidates_text_of(tops) == _candidates_text_of(tops) == candidates_text(tops)
    assert _candidates_text_of(()) == ""
    # a classifier of another kind may give a list: not a tuple of candidates, no text
    assert _candidates_text_of([("road_damage", 0.72)]) == ""


def test_the_writer_makes_the_same_text_of_tuples():
    tops = (("road_damage", 0.72), ("flooding", 0.125))
    cells = pd.Series([tops, None, (), tops], dtype=object)
    assert _candidate_text(cells).tolist() == [candidates_text(tops), "", "", candidates_text(tops)]
