"""Procedure fees (lệ phí): when the definition says the citizen pays, read from the definition itself."""

from __future__ import annotations

from portal.models import Application
from workflows.definitions import Definition

# Final states where nothing is owed any more: the case was refused or withdrawn.
_NO_FEE_OUTCOMES = ("refused", "withdrawn", "stopped")


def result_states(definition: Definition) -> set[str]:
    """States where the result exists: the 'result' final state and every state an action leaves
    for it (the one-stop template's cho_tra_ket_qua, "result ready, to be handed over")."""
    workflow = definition.workflow
    finals = {s.key for s in workflow.states if s.final and s.outcome == "result"}
    before = {source for a in workflow.actions if a.to in finals for source in a.from_}
    return finals | before


def fee_due_now(definition: Definition, app: Application) -> bool:
    """The citizen may pay online now: a fee payable online, at the step the definition names."""
    if app.is_draft or not definition.online_payment or app.fee_amount <= 0:
        return False
    try:
        state = definition.workflow.state(app.status)
    except KeyError:
        return False
    if state.final and state.outcome in _NO_FEE_OUTCOMES:
        return False
    if definition.fee.pay_at == "submission":
        return True
    return app.status in result_states(definition)
