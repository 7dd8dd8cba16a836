"""A workflow drawn as a diagram (server-rendered SVG), with what is wrong with it.

Pure: it takes the states and moves as plain values, so the admin draws the workflow as saved
and, while it is edited, as its rows say (nothing saved). States are laid out in rows by the
number of moves from the initial state, top to bottom (it reads on a tablet as on a desktop);
a move "from any open state" is listed under the diagram rather than drawn from every state.
Flagged: states no ticket can reach from the initial state, and open states with no way out
(a ticket there could never be closed).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html import escape

TERMINAL = ("closed", "cancelled")
NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 170, 56, 40, 70, 24


@dataclass(frozen=True)
class State:
    code: str
    name: str
    phase: str
    requires_decision: bool = False


@dataclass(frozen=True)
class Move:
    source: str | None  # None: from any open state
    target: str
    label: str = ""
    roles: tuple[str, ...] = ()  # none: every role that may change exceptions
    reason_required: bool = False


@dataclass
class Diagram:
    svg: str
    unreachable: list[str] = field(default_factory=list)
    dead_ends: list[str] = field(default_factory=list)
    moves: list[dict] = field(default_factory=list)  # the table under the drawing

    def as_json(self) -> dict:
        return {
            "svg": self.svg,
            "unreachable": self.unreachable,
            "dead_ends": self.dead_ends,
            "moves": self.moves,
        }


def describe(state_list: list[State], moves: list[Move], pauses: set[str] = frozenset()) -> str:
    """The workflow as text, one line per state and move in a stable order, for its history:
    a change of who may make a move, or of what it needs, shows as a change of this text."""
    names = {s.code: s.name for s in state_list}
    lines = ["States:"]
    for s in sorted(state_list, key=lambda s: s.code):
        flags = [s.phase] + (["decision required"] if s.requires_decision else [])
        flags += ["pauses the SLA"] if s.code in pauses else []
        lines.append(f'- {s.code} "{s.name}" ({", ".join(flags)})')
    lines.append("Moves:")
    for m in sorted(moves, key=lambda m: (m.source or "", m.target, m.label)):
        source = m.source or "any open state"
        who = ", ".join(sorted(m.roles)) or "every role"
        need = "; reason required" if m.reason_required else ""
        label = f' "{m.label}"' if m.label else ""
        lines.append(f"- {source} → {m.target}{label}: {who}{need}")
    return "\n".join(lines) if names or moves else ""


def from_rows(states, transitions) -> tuple[list[State], list[Move]]:
    """A workflow's state and transition rows (models, or the historical models of a
    migration: ``roles.all()`` gives groups) as the values drawn and described here."""
    states = sorted(states, key=lambda s: s.pk)
    codes = {s.pk: s.code for s in states}
    moves = [
        Move(
            codes.get(t.from_state_id) if t.from_state_id else None,
            codes.get(t.to_state_id, "?"),
            t.label,
            tuple(sorted(g.name for g in t.roles.all())),
            t.reason_required,
        )
        for t in sorted(transitions, key=lambda t: t.pk)
    ]
    return [State(s.code, s.name, s.phase, s.requires_decision) for s in states], moves


def describe_rows(states, transitions) -> str:
    """``describe`` of a workflow's state and transition rows (see ``from_rows``)."""
    states = list(states)
    return describe(*from_rows(states, transitions), {s.code for s in states if s.pauses_sla})


def depths(initial: str, states: dict[str, State], moves: list[Move]) -> dict[str, int]:
    """Moves needed to reach each state from ``initial`` (unreachable states are absent)."""
    if initial not in states:
        return {}
    anywhere = [m.target for m in moves if m.source is None and m.target in states]
    seen, queue, any_open_reached = {initial: 0}, deque([initial]), False
    while queue:
        code = queue.popleft()
        targets = [m.target for m in moves if m.source == code and m.target in states]
        if states[code].phase not in TERMINAL and not any_open_reached:
            any_open_reached = True
            targets += anywhere
        for target in targets:
            if target not in seen:
                seen[target] = seen[code] + 1
                queue.append(target)
    return seen


def dead_ends(states: dict[str, State], moves: list[Move]) -> list[str]:
    """Open states (not closed or cancelled) that no move leaves."""
    if any(m.source is None and m.target in states for m in moves):
        return []  # a move from any open state leaves every one of them
    leaving = {m.source for m in moves if m.target in states}
    return [c for c, s in states.items() if s.phase not in TERMINAL and c not in leaving]


def draw(initial: str, state_list: list[State], moves: list[Move], words: dict) -> Diagram:
    """The diagram of a workflow; ``words`` are the few words it shows (translated by the
    caller): ``any``, ``everyone``, ``reason``, ``decision``, ``initial``, ``unreachable``,
    ``dead_end``."""
    states = {s.code: s for s in state_list}
    reached = depths(initial, states, moves)
    stuck = dead_ends(states, moves)
    unreachable = [c for c in states if c not in reached]
    last = max(reached.values(), default=-1) + 1
    layers: dict[int, list[str]] = {}
    for code in states:
        layers.setdefault(reached.get(code, last), []).append(code)
    widest = max((len(c) for c in layers.values()), default=1)
    width = PAD * 2 + widest * (NODE_W + COL_GAP) - COL_GAP + 60  # room for curves back up
    place = {}
    for layer, codes in sorted(layers.items()):
        left = PAD + (widest - len(codes)) * (NODE_W + COL_GAP) / 2
        for i, code in enumerate(codes):
            place[code] = (left + i * (NODE_W + COL_GAP), PAD + layer * (NODE_H + ROW_GAP))
    height = PAD * 2 + (max(layers, default=0) + 1) * (NODE_H + ROW_GAP) - ROW_GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
        f'viewBox="0 0 {width:g} {height:g}" preserveAspectRatio="xMidYMin meet" '
        f'style="width: 100%; max-width: {width:g}px; height: auto">',
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>',
    ]
    drawn = [m for m in moves if m.source in place and m.target in place]
    for index, move in enumerate(drawn):
        parts.append(_edge(move, place, index, words))
    for code, (x, y) in place.items():
        parts.append(
            _node(states[code], x, y, code == initial, code in unreachable, code in stuck, words)
        )
    parts.append("</svg>")
    table = [
        {
            "from": states[m.source].name if m.source in states else words["any"],
            "to": states[m.target].name if m.target in states else m.target,
            "label": m.label,
            "roles": list(m.roles) or [words["everyone"]],
            "reason": m.reason_required,
            "decision": bool(m.target in states and states[m.target].requires_decision),
        }
        for m in moves
    ]
    return Diagram("".join(parts), unreachable, stuck, table)


def _node(state: State, x: int, y: int, initial: bool, unreachable: bool, stuck: bool, words):
    fill = "#e3f4e8" if state.phase in TERMINAL else "#ffffff"
    stroke, dash = ("#b00020", ' stroke-dasharray="6 4"') if unreachable or stuck else ("#333", "")
    width = 3 if initial else 1.5
    flags = []
    if initial:
        flags.append(words["initial"])
    if unreachable:
        flags.append(words["unreachable"])
    if stuck:
        flags.append(words["dead_end"])
    if state.requires_decision:
        flags.append(words["decision"])
    css = (
        "wf-state" + (" wf-unreachable" if unreachable else "") + (" wf-dead-end" if stuck else "")
    )
    text = escape(state.name)
    return (
        f'<g class="{css}" data-state="{escape(state.code)}">'
        f"<title>{text} ({escape(state.code)}, {escape(state.phase)})</title>"
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="10" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{width}"{dash}/>'
        f'<text x="{x + NODE_W / 2}" y="{y + 24}" text-anchor="middle" font-size="14" '
        f'font-weight="600">{text}</text>'
        f'<text x="{x + NODE_W / 2}" y="{y + 43}" text-anchor="middle" font-size="11" '
        f'fill="{"#b00020" if unreachable or stuck else "#555"}">{escape(" · ".join(flags))}</text>'
        "</g>"
    )


def _edge(move: Move, place: dict, index: int, words) -> str:
    (x1, y1), (x2, y2) = place[move.source], place[move.target]
    if move.source == move.target:
        return ""
    if y2 > y1:  # down: bottom to top
        start, end = (x1 + NODE_W / 2, y1 + NODE_H), (x2 + NODE_W / 2, y2)
        control = ((start[0] + end[0]) / 2 + (12 if index % 2 else -12), (start[1] + end[1]) / 2)
    elif y2 == y1:  # sideways: side to side, bowed down
        left = x2 < x1
        start = (x1 if left else x1 + NODE_W, y1 + NODE_H / 2)
        end = (x2 + NODE_W if left else x2, y2 + NODE_H / 2)
        control = ((start[0] + end[0]) / 2, y1 + NODE_H + 20)
    else:  # back up: out of the right side, round, into the right side
        start, end = (x1 + NODE_W, y1 + NODE_H / 2), (x2 + NODE_W, y2 + NODE_H / 2)
        control = (max(x1, x2) + NODE_W + 50 + 8 * (index % 3), (start[1] + end[1]) / 2)
    mark = " ✎" if move.reason_required else ""
    label = escape((move.label or "") + mark)
    title = escape(
        f"{move.label or ''}: {', '.join(move.roles) or words['everyone']}"
        + (f"; {words['reason']}" if move.reason_required else "")
    )
    label_x = (start[0] + 2 * control[0] + end[0]) / 4
    label_y = (start[1] + 2 * control[1] + end[1]) / 4
    return (
        f'<g class="wf-move"><title>{title}</title>'
        f'<path d="M{start[0]:g},{start[1]:g} Q{control[0]:g},{control[1]:g} '
        f'{end[0]:g},{end[1]:g}" '
        'fill="none" stroke="#444" stroke-width="1.4" marker-end="url(#wf-arrow)"/>'
        f'<text x="{label_x:g}" y="{label_y:g}" text-anchor="middle" font-size="12" '
        f'fill="#222" paint-order="stroke" stroke="#fff" stroke-width="4">{label}</text></g>'
    )
