"""A decision's life after routing: transfers ("not our authority"), escalations and
reopening."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..errors import RoutingError
from .deadlines import WorkCalendar, deadlines
from .decide import deadlines_of, step
from .decision import RoutingDecision, mask_for_unit
from .graph import RuleGraph

log = logging.getLogger("lapor_router.route")


def transfer(rg: RuleGraph, decision: RoutingDecision, reason: str) -> RoutingDecision:
    """ "Not our authority": pass the report to the next candidate unit it has not visited.
    After ``max_transfers`` transfers, or when no candidate is left, it goes to the
    coordinating unit; the coordinating unit itself does not transfer (``transfer_refused``).
    Deadlines keep running from the report's creation."""
    if not reason or not str(reason).strip():
        raise RoutingError("a transfer needs a reason")
    reason = mask_for_unit(decision, reason)  # the reason is read by every later unit
    if decision.unit_id is None:
        raise RoutingError("a report outside Jakarta has no unit to transfer from")
    if decision.rule_set != rg.version:
        raise RoutingError(f"decision made with rule set {decision.rule_set}, not {rg.version}")
    coordinator = rg.settings.coordinator
    current = rg.units[decision.unit_id]
    if decision.unit_id == coordinator:
        return replace(
            decision,
            flags=decision.flags | {"transfer_refused"},
            explanation=(
                *decision.explanation,
                f"{current.name} adalah unit koordinator dan tidak mengalihkan laporan ({reason}).",
            ),
        )
    count = decision.transfers + 1
    nxt = next((c for c in decision.candidates if c not in decision.visited), None)
    flags = set(decision.flags) | {"transferred"}
    if count > rg.settings.max_transfers or nxt is None:
        nxt = coordinator
        flags |= {"transfer_limit", "needs_triage"}
    if nxt in decision.visited:  # never the same unit twice: it stays where it is
        return replace(
            decision,
            flags=decision.flags | {"transfer_exhausted"},
            explanation=(
                *decision.explanation,
                f"Tidak ada unit lain yang belum "
                f"menerima laporan ini; tetap di {current.name} ({reason}).",
            ),
        )
    target = rg.units[nxt]
    note = f"Dialihkan dari {current.name} ke {target.name} (pengalihan ke-{count}): {reason}."
    log.info(
        "transferred report=%s from=%s to=%s count=%d",
        decision.report_id,
        current.id,
        target.id,
        count,
    )
    return _hand_over(rg, decision, target.id, "transfer", note, frozenset(flags), transfers=count)


def escalate(
    rg: RuleGraph, cal: WorkCalendar, decision: RoutingDecision, now: datetime
) -> RoutingDecision:
    """Move an overdue report (``now`` after ``due_at``) one step up its unit's escalation
    chain; the higher unit gets the category's response deadline from ``now``. A report that
    is not overdue comes back unchanged; one already at the top is flagged
    ``escalation_exhausted``."""
    if decision.unit_id is None or decision.due_at is None:
        return decision
    local_now = cal.localize(now)
    if local_now <= decision.due_at:
        return decision
    up = rg.escalation_chain(decision.unit_id)
    current = rg.units[decision.unit_id]
    if not up:
        return replace(
            decision,
            flags=decision.flags | {"overdue", "escalation_exhausted"},
            explanation=(
                *decision.explanation,
                f"Terlambat: {current.name} adalah "
                "unit tertinggi, eskalasi tidak dapat dilanjutkan.",
            ),
        )
    target = rg.units[up[0]]
    respond, _ = deadlines_of(rg, rg.categories.get(decision.category or ""))
    deadline = cal.add(local_now, respond)
    log.info("escalated report=%s from=%s to=%s", decision.report_id, current.id, target.id)
    note = (
        f"Eskalasi: melewati tenggat {decision.due_at:%Y-%m-%d %H:%M} WIB; "
        f"{current.name} → {target.name}, tanggapan paling lambat "
        f"{deadline:%Y-%m-%d %H:%M} WIB."
    )
    return _hand_over(
        rg,
        decision,
        target.id,
        "escalation",
        note,
        decision.flags | {"overdue", "escalated"},
        respond_by=deadline,
        due_at=deadline,
        escalations=decision.escalations + 1,
    )


def reopen(
    rg: RuleGraph, cal: WorkCalendar, decision: RoutingDecision, reason: str, now: datetime
) -> RoutingDecision:
    """A closed report back with the unit that held it (the reporter says the problem is
    not solved): it gets the category's response and resolution deadlines afresh from
    ``now``, and the flag ``reopened``."""
    if not reason or not str(reason).strip():
        raise RoutingError("reopening needs a reason")
    reason = mask_for_unit(decision, reason)
    respond, resolve = deadlines_of(rg, rg.categories.get(decision.category or ""))
    respond_by, due_at = deadlines(cal, cal.localize(now), respond, resolve)
    note = (
        f"Dibuka kembali ({reason}); tanggapan paling lambat {respond_by:%Y-%m-%d %H:%M} WIB, "
        f"selesai paling lambat {due_at:%Y-%m-%d %H:%M} WIB."
    )
    return replace(
        decision,
        respond_by=respond_by,
        due_at=due_at,
        explanation=(*decision.explanation, note),
        flags=decision.flags | {"reopened"},
    )


def _hand_over(
    rg: RuleGraph,
    decision: RoutingDecision,
    unit_id: str,
    role: str,
    note: str,
    flags: frozenset[str],
    **changes: Any,
) -> RoutingDecision:
    """``decision`` now with ``unit_id``, which joins the CRM path in ``role``."""
    unit = rg.units[unit_id]
    return replace(
        decision,
        unit_id=unit.id,
        unit_name=unit.name,
        level=unit.level,
        handler_chain=(*decision.handler_chain, step(rg, unit.id, role)),
        explanation=(*decision.explanation, note),
        flags=flags,
        visited=(*decision.visited, unit.id),
        **changes,
    )
