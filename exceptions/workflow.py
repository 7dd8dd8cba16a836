"""Reading the workflow tables: which moves leave a state, and which of them a user may make."""

from __future__ import annotations

from django.db.models import Q

from .models import ExceptionTicket, WorkflowState, WorkflowTransition


def current_state(ticket: ExceptionTicket) -> WorkflowState:
    return ticket.workflow.states.get(code=ticket.status)


def transitions_from(ticket: ExceptionTicket, state: WorkflowState | None = None):
    """Transitions of the ticket's workflow that leave its current state."""
    state = state or current_state(ticket)
    any_state = Q(from_state__isnull=True) if not state.is_terminal else Q(pk__in=[])
    return (
        WorkflowTransition.objects.filter(workflow_id=ticket.workflow_id)
        .filter(Q(from_state=state) | any_state)
        .exclude(to_state=state)
        .select_related("to_state")
        .prefetch_related("roles")
        .order_by("pk")
    )


def role_allows(transition: WorkflowTransition, user) -> bool:
    """No roles listed means every role; superusers and the system (None) may always."""
    if user is None or user.is_superuser:
        return True
    roles = {g.pk for g in transition.roles.all()}
    if not roles:
        return True
    return bool(roles & set(user.groups.values_list("pk", flat=True)))


def allowed_transitions(ticket: ExceptionTicket, user) -> list[WorkflowTransition]:
    """The moves ``user`` may make now, one per target state (first in table order)."""
    if user is not None and not user.has_perm("exceptions.change_exceptionticket"):
        return []
    seen, result = set(), []
    for transition in transitions_from(ticket):
        if transition.to_state_id in seen or not role_allows(transition, user):
            continue
        seen.add(transition.to_state_id)
        result.append(transition)
    return result


def may_resolve(ticket: ExceptionTicket, user) -> bool:
    """May ``user`` make some move of the ticket's workflow into a resolved state (who may
    resolve is who records decisions)."""
    if user is None or user.is_superuser:
        return True
    resolving = (
        WorkflowTransition.objects.filter(
            workflow_id=ticket.workflow_id, to_state__phase=WorkflowState.Phase.RESOLVED
        )
        .prefetch_related("roles")
        .order_by("pk")
    )
    return any(role_allows(transition, user) for transition in resolving)
