"""The integer codes the locate stage's arrays hold, shared by the numpy code and the
compiled kernels (which must not import the modules that import them)."""

from __future__ import annotations

# "named": a point that could not be located, placed by the kelurahan its text names
# (set by routing, never by locate_many)
STATUSES = ("inside", "overlap", "gap", "outside", "invalid", "named")
INSIDE, OVERLAP, GAP, OUTSIDE, INVALID = range(5)  # int8 status codes of the core

# values of a coverage-tree cell (see :mod:`.quadtree`)
EXACT = -1  # no answer from the tree (NaN coordinates): use the R-tree
FAR = -2
SLOT0 = -3  # values <= SLOT0 are exact cells (slot -3 - value); values >= the number of
# polygons point to a block of the next table (block value - n_poly)
