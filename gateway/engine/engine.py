"""The conversation engine: pure. Given a session and an input it returns the new session, what to
show, and which handler to call; it does no I/O and knows no carrier. The caller runs the handler and
hands its outcome back with `after`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from gateway.engine.flows import FlowSet, Rule, Screen, split_target
from gateway.engine.reading import Reading
from gateway.engine.validators import validate

BACK = "0"
HOME = "00"
MORE = "98"
# A dropped session is offered as one more line of the main menu, so 1 stays the alert on every first screen.
RESUME_OPTION = "resume.option"


@dataclass(frozen=True)
class Session:
    """Where a person is in a flow. Serialisable, so a session survives restarts and moves between processes."""

    flow: str
    screen: str
    stack: tuple[tuple[str, str], ...] = ()  # screens before this one, for "0"
    data: Mapping[str, str] = field(default_factory=dict)
    page: int = 0
    error: str | None = None  # text key of a short error shown above the screen once
    ended: bool = False
    paused: Session | None = None  # a dropped session offered for resumption

    def to_json(self) -> str:
        return json.dumps(_as_dict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Session:
        return _from_dict(json.loads(text))


def _as_dict(session: Session) -> dict:
    return {
        "flow": session.flow,
        "screen": session.screen,
        "stack": [list(s) for s in session.stack],
        "data": dict(session.data),
        "page": session.page,
        "error": session.error,
        "ended": session.ended,
        "paused": _as_dict(session.paused) if session.paused else None,
    }


def _from_dict(raw: dict) -> Session:
    return Session(
        flow=raw["flow"],
        screen=raw["screen"],
        stack=tuple(tuple(s) for s in raw.get("stack", ())),
        data=dict(raw.get("data", {})),
        page=int(raw.get("page", 0)),
        error=raw.get("error"),
        ended=bool(raw.get("ended", False)),
        paused=_from_dict(raw["paused"]) if raw.get("paused") else None,
    )


@dataclass(frozen=True)
class Show:
    """A screen to render: a text key, the numbered option keys, and whether it ends the conversation."""

    screen: str
    text: str
    options: tuple[str, ...] = ()
    ends: bool = False
    error: str | None = None
    page: int = 0
    values: Mapping[str, str] = field(default_factory=dict)
    kind: str = "info"
    can_go_back: bool = False  # "0" leads somewhere: worth a line on the screen


@dataclass(frozen=True)
class Call:
    """A handler the caller must run before the engine can go on."""

    handler: str
    args: Mapping[str, str]
    data: Mapping[str, str]


@dataclass(frozen=True)
class Step:
    session: Session
    show: Show | None = None
    call: Call | None = None


@dataclass(frozen=True)
class Context:
    """What the engine may know about the person: named facts for conditions, and their region for numbers."""

    facts: frozenset[str] = frozenset()
    region: str = "US"


class Engine:
    def __init__(self, flows: FlowSet, reading: Reading):
        self.flows = flows
        self._reading = reading

    def home(self, context: Context) -> Step:
        """The main menu."""
        flow = self.flows.flows[self.flows.home]
        return self._enter(Session(flow=flow.name, screen=flow.start), flow.name, flow.start, context, push=False)

    def begin(self, target: str, context: Context, data: Mapping[str, str] | None = None) -> Step:
        """Starts at 'flow/screen' (or a flow's start), e.g. from an SMS keyword, with data already known."""
        flow_name, screen = split_target(self.flows.flows[self.flows.home], target)
        flow = self.flows.flows[flow_name]
        session = Session(flow=flow_name, screen=screen or flow.start, data=dict(data or {}))
        return self._enter(session, flow_name, screen or flow.start, context, push=False)

    def knows(self, session: Session) -> bool:
        """False for a session stored before the flows were edited and pointing at screens now gone."""
        places = [(session.flow, session.screen), *session.stack]
        return all(flow in self.flows.flows and screen in self.flows.flows[flow].screens for flow, screen in places)

    def worth_resuming(self, paused: Session) -> bool:
        """A session left anywhere but the main menu, with nothing typed, is worth offering again."""
        home = self.flows.flows[self.flows.home]
        return self.knows(paused) and not paused.ended and (paused.flow, paused.screen) != (home.name, home.start)

    def offer_resume(self, paused: Session, context: Context) -> Step:
        """The main menu, with one more line to continue a session the network dropped."""
        home = self.flows.flows[self.flows.home]
        session = Session(flow=home.name, screen=home.start, paused=replace(paused, paused=None))
        return Step(session, self._offer(session, context))

    def _offer(self, session: Session, context: Context, error: str | None = None) -> Show:
        menu = self._show(replace(session, paused=None), context)
        return replace(menu, screen="resume", options=(*menu.options, RESUME_OPTION), error=error)

    def show(self, session: Session, context: Context) -> Step:
        """The current screen again (an SMS session that was waiting)."""
        return Step(session, self._show(session, context))

    def answer(self, session: Session, text: str, context: Context) -> Step:
        """Applies one input: a menu choice, a typed answer, or navigation (0 back, 00 home, 98 more)."""
        text = text.strip()
        if session.paused is not None:
            home = replace(session, paused=None)
            choices = len(_visible(self._screen(home), context))
            if text == str(choices + 1):
                paused = replace(session.paused, error=None)
                return Step(paused, self._show(paused, context))
            if text.isdigit() and 1 <= int(text) <= choices:
                return self.answer(home, text, context)  # 1 is the alert, as on every first screen
            if text == MORE:
                moved = replace(session, page=session.page + 1)
                return Step(moved, self._offer(moved, context))
            return Step(session, self._offer(session, context, error="errors.choice"))
        if session.ended:
            return self.home(context)
        screen = self._screen(session)
        if text == HOME:
            return self.home(context)
        if text == BACK and screen.kind != "end":
            return self._back(session, context)
        if text == MORE and screen.kind in ("menu", "info"):
            moved = replace(session, page=session.page + 1, error=None)
            return Step(moved, self._show(moved, context))
        if screen.kind == "menu":
            visible = _visible(screen, context)
            if text.isdigit() and 1 <= int(text) <= len(visible):
                return self._follow(session, visible[int(text) - 1].next, context)
            return self._retry(session, "errors.choice", context)
        if screen.kind == "input":
            value = validate(screen.validate, text, screen, context.region, self._reading)
            if value is None:
                return self._retry(session, f"errors.{screen.validate}", context)
            saved = replace(session, data={**session.data, screen.save: value})
            return self._follow(saved, screen.next, context)
        if screen.kind == "info" and screen.next:
            return self._follow(session, screen.next, context)
        return self._back(session, context)

    def after(self, session: Session, outcome: str, values: Mapping[str, str], context: Context) -> Step:
        """Goes on from an action screen with its handler's outcome; values join the session's data."""
        screen = self._screen(session)
        target = screen.outcomes.get(outcome) or screen.outcomes.get("default")
        data = {**session.data, **{k: str(v) for k, v in values.items()}}
        session = replace(session, data=data)
        if target is None:
            # No screen for this outcome: the flow ends with the generic text for it.
            return Step(
                replace(session, ended=True), Show(screen.id, f"outcome.{outcome}", ends=True, values=data, kind="end")
            )
        flow_name, screen_id = split_target(self.flows.flows[session.flow], target)
        return self._enter(session, flow_name, screen_id or self.flows.flows[flow_name].start, context, push=False)

    # -- moving between screens -----------------------------------------------------------------

    def _screen(self, session: Session) -> Screen:
        return self.flows.screen(session.flow, session.screen)

    def _follow(self, session: Session, rules: tuple[Rule, ...], context: Context) -> Step:
        for rule in rules:
            if holds(rule.when, context, session.data):
                flow_name, screen_id = split_target(self.flows.flows[session.flow], rule.goto)
                return self._enter(
                    session, flow_name, screen_id or self.flows.flows[flow_name].start, context, push=True
                )
        return self._back(session, context)

    def _enter(self, session: Session, flow_name: str, screen_id: str, context: Context, push: bool) -> Step:
        stack = session.stack
        current = self._screen(session)
        if push and current.kind != "action" and current.history:
            stack = stack + ((session.flow, session.screen),)
        entered = replace(session, flow=flow_name, screen=screen_id, stack=stack, page=0, error=None, ended=False)
        screen = self._screen(entered)
        if screen.kind == "action":
            return Step(entered, call=Call(screen.handler, dict(screen.args), dict(entered.data)))
        if screen.kind == "end":
            entered = replace(entered, ended=True)
        return Step(entered, self._show(entered, context))

    def _back(self, session: Session, context: Context) -> Step:
        if not session.stack:
            return self.home(context)
        (flow_name, screen_id), stack = session.stack[-1], session.stack[:-1]
        previous = replace(session, flow=flow_name, screen=screen_id, stack=stack, page=0, error=None)
        return Step(previous, self._show(previous, context))

    def _retry(self, session: Session, error: str, context: Context) -> Step:
        again = replace(session, error=error)
        return Step(again, self._show(again, context))

    def _show(self, session: Session, context: Context) -> Show:
        screen = self._screen(session)
        return Show(
            screen=screen.id,
            text=screen.text or "",
            options=tuple(o.text for o in _visible(screen, context)),
            ends=screen.kind == "end",
            error=session.error,
            page=session.page,
            # An input's limit, for the error that says it ("no more than 160 characters").
            values={**session.data, **({"max_length": str(screen.max_length)} if screen.kind == "input" else {})},
            kind=screen.kind,
            can_go_back=bool(session.stack),
        )


def _visible(screen: Screen, context: Context):
    return [o for o in screen.options if holds(o.when, context, {})]


def holds(condition: str | None, context: Context, data: Mapping[str, str]) -> bool:
    """'fact' or 'not fact': a fact about the person, or a non-empty field of the session's data."""
    if condition is None:
        return True
    negate = condition.startswith("not ")
    name = condition[4:].strip() if negate else condition.strip()
    value = name in context.facts or bool(data.get(name))
    return value != negate
