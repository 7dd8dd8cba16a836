"""Reading the workflow tables: which moves leave a state, and which of them a user may make.

A workflow's states and moves (with the roles of each) are read once per process and kept
until the configuration changes (:mod:`mes.config_cache`); what is returned is shared, so
read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from mes import config_cache

from .models import ExceptionTicket, Workflow, WorkflowState, WorkflowTransition


@dataclass(frozen=True)
class WorkflowTable:
    workflow: Workflow | None
    states: dict[str, WorkflowState]
    transitions: tuple[WorkflowTransition, ...]  # in table order, roles and target loaded

    @property
    def initial(self) -> WorkflowState | None:
        return self.states.get(self.workflow.initial_state) if self.workflow else None


def _load(workflow_id: int) -> WorkflowTable:
    workflow = Workflow.objects.filter(pk=workflow_id).first()
    states = {s.code: s for s in WorkflowState.objects.filter(workflow_id=workflow_id)}
    by_pk = {s.pk: s for s in states.values()}
    transitions = list(
        WorkflowTransition.objects.filter(workflow_id=workflow_id)
        .prefetch_related("roles")
        .order_by("pk")
    )
    for transition in transitions:  # the states of the table, not a copy each
        transition.to_state = by_pk[transition.to_state_id]
        if transition.from_state_id is not None:
            transition.from_state = by_pk[transition.from_state_id]
        transition.role_ids = frozenset(g.pk for g in transition.roles.all())
    return WorkflowTable(workflow, states, tuple(transitions))


def table(workflow_id: int) -> WorkflowTable:
    return config_cache.cached(("workflow", workflow_id), lambda: _load(workflow_id))


def current_state(ticket: ExceptionTicket) -> WorkflowState:
    state = table(ticket.workflow_id).states.get(ticket.status)
    if state is None:
        raise WorkflowState.DoesNotExist(ticket.status)
    return state


def transitions_from(
    ticket: ExceptionTicket, state: WorkflowState | None = None
) -> list[WorkflowTransition]:
    """Transitions of the ticket's workflow that leave its current state."""
    state = state or current_state(ticket)
    return [
        t
        for t in table(ticket.workflow_id).transitions
        if (t.from_state_id == state.pk or (t.from_state_id is None and not state.is_terminal))
        and t.to_state_id != state.pk
    ]


def group_ids(user) -> frozenset[int]:
    """The roles (groups) of ``user``, kept with the configuration."""
    found = getattr(user, "_andon_group_ids", None)
    if found is None:
        found = config_cache.cached(
            ("groups", user.pk), lambda: frozenset(user.groups.values_list("pk", flat=True))
        )
        user._andon_group_ids = found
    return found


def role_allows(transition: WorkflowTransition, user) -> bool:
    """No roles listed means every role; superusers and the system (None) may always."""
    if user is None or user.is_superuser:
        return True
    roles = getattr(transition, "role_ids", None)
    if roles is None:
        roles = frozenset(g.pk for g in transition.roles.all())
    if not roles:
        return True
    return bool(roles & group_ids(user))


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
    return any(
        role_allows(t, user)
        for t in table(ticket.workflow_id).transitions
        if t.to_state.phase == WorkflowState.Phase.RESOLVED
    )
