"""First stage: raw values as clean values.

Coordinates become float64 arrays with a reason for every value that cannot be one
(:mod:`.values`); kelurahan names become comparison keys (:mod:`.names`); complaint texts
become normalized words (:mod:`.text`) and the places they name (:mod:`.places`); the
columns of a report table are named or guessed (:mod:`.columns`). Imports nothing of
lapor_router but its errors and privacy rules.
"""

from __future__ import annotations

from .columns import FALSE_WORDS, TRUE_WORDS, Columns, private_flag
from .names import name_key
from .places import NamedPlace, PlaceFinder
from .text import text_tokens
from .values import (
    MISSING,
    NOT_A_NUMBER,
    NOT_FINITE,
    OUT_OF_RANGE,
    REASONS,
    as_array,
    coded_cells,
    coerce_floats,
    distinct,
    distinct_values,
    first_rows,
    is_missing,
    is_present,
    objects,
    scalar,
)

__all__ = [
    "FALSE_WORDS",
    "MISSING",
    "NOT_A_NUMBER",
    "NOT_FINITE",
    "OUT_OF_RANGE",
    "REASONS",
    "TRUE_WORDS",
    "Columns",
    "NamedPlace",
    "PlaceFinder",
    "as_array",
    "coded_cells",
    "coerce_floats",
    "distinct",
    "distinct_values",
    "first_rows",
    "is_missing",
    "is_present",
    "name_key",
    "objects",
    "private_flag",
    "scalar",
    "text_tokens",
]
