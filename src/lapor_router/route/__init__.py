"""Third stage: who must act on a located report, why, and by when.

- :mod:`.rules`: rule files parsed into typed objects; :mod:`.graph`: compiled into the
  networkx rule graph; :mod:`.lint`: proof that every category routes everywhere;
- :mod:`.classify`: the category, given, corrected or inferred from the text;
- :mod:`.deadlines`: working days, office hours and holidays (WIB);
- :mod:`.decision`: :class:`Report`, :class:`RoutingDecision`, :class:`HandlerStep`;
- :mod:`.decide`: one decision; :mod:`.many`: the same for many reports, as columns;
- :mod:`.lifecycle`: transfers, escalations and reopening; :mod:`.model`: a classifier trained on an
  agency's labelled reports (imported when a model is used).

Imports :mod:`lapor_router.locate`, :mod:`lapor_router.normalize` and the foundation
modules, nothing above.
"""

from __future__ import annotations

from .classify import CategoryClassifier, CategoryGuess, Classifier
from .deadlines import WorkCalendar, add_many, deadlines, deadlines_many
from .decide import decide
from .decision import HandlerStep, Report, RoutingDecision
from .graph import RuleGraph
from .lifecycle import escalate, reopen, transfer
from .lint import LintMessage, LintReport, lint
from .many import candidates_text, decide_many
from .rules import Category, Deadline, RuleSpec, Settings, default_rules_path, parse_rules

__all__ = [
    "Category",
    "CategoryClassifier",
    "CategoryGuess",
    "Classifier",
    "Deadline",
    "HandlerStep",
    "LintMessage",
    "LintReport",
    "Report",
    "RoutingDecision",
    "RuleGraph",
    "RuleSpec",
    "Settings",
    "WorkCalendar",
    "add_many",
    "candidates_text",
    "deadlines",
    "deadlines_many",
    "decide",
    "decide_many",
    "default_rules_path",
    "escalate",
    "lint",
    "parse_rules",
    "reopen",
    "transfer",
]
