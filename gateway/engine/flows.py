"""Flows: menus/*.yaml loaded into screens, with structural errors named by file and key.

A flow is a graph of screens. Screen kinds:
  menu    numbered options, each leading to a screen (an option may show only `if` a fact holds)
  input   free text checked by a validator, saved into the session's data under `save`
  action  calls a named handler; `next` maps the handler's outcome to a screen
  info    static text; any answer goes on to `next` (or back)
  end     text that closes the session
`next` is a screen id, a mapping outcome → screen id (action), or a list of rules
[{if: fact, goto: id}, ..., {goto: id}] taken in order. Texts are keys into templates/<lang>.yaml.
`history: false` keeps a screen out of what "0" goes back to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gateway import yamltext

KINDS = ("menu", "input", "action", "info", "end")
VALIDATORS = ("digits", "pin", "zip", "phone", "date", "choice", "text")


class FlowError(ValueError):
    """A flow file that cannot be loaded; the message starts with the file and key."""


@dataclass(frozen=True)
class Rule:
    goto: str
    when: str | None = None  # a fact name, or "not <fact>"; None always holds


@dataclass(frozen=True)
class Option:
    text: str
    next: tuple[Rule, ...]
    when: str | None = None


@dataclass(frozen=True)
class Screen:
    id: str
    kind: str
    text: str | None = None
    options: tuple[Option, ...] = ()
    next: tuple[Rule, ...] = ()
    outcomes: dict[str, str] = field(default_factory=dict)  # action: outcome → screen id
    handler: str | None = None
    args: dict[str, str] = field(default_factory=dict)
    validate: str | None = None
    max_length: int = 160
    choices: tuple[str, ...] = ()
    save: str | None = None
    history: bool = True  # false: "0" never comes back here (a question answered once, like consent)
    source: str = ""  # "menus/main.yaml: screens.home", for messages


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    screens: dict[str, Screen]
    source: str


@dataclass(frozen=True)
class FlowSet:
    flows: dict[str, Flow]
    home: str  # the flow whose start is the main menu ("00" goes there)

    def screen(self, flow: str, screen: str) -> Screen:
        return self.flows[flow].screens[screen]


def load_flows(directory: Path, home: str = "main") -> FlowSet:
    """Reads every flow file in the directory (keywords.yaml is not a flow)."""
    flows = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "keywords.yaml":
            continue
        flow = _load_flow(path)
        if flow.name in flows:
            raise FlowError(f"{path}: flow {flow.name!r} is defined twice")
        flows[flow.name] = flow
    if home not in flows:
        raise FlowError(f"{directory}: no flow named {home!r} (the main menu)")
    flow_set = FlowSet(flows=flows, home=home)
    _check_references(flow_set)
    return flow_set


def _load_flow(path: Path) -> Flow:
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FlowError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("screens"), dict):
        raise FlowError(f"{path}: needs `flow`, `start` and a `screens` mapping")
    name = raw.get("flow") or path.stem
    screens = {}
    for screen_id, spec in raw["screens"].items():
        screens[str(screen_id)] = _screen(str(screen_id), spec, f"{path}: screens.{screen_id}")
    start = raw.get("start")
    if start not in screens:
        raise FlowError(f"{path}: start → unknown screen {start!r}")
    return Flow(name=str(name), start=start, screens=screens, source=str(path))


def _screen(screen_id: str, spec, where: str) -> Screen:
    if not isinstance(spec, dict):
        raise FlowError(f"{where}: must be a mapping")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FlowError(f"{where}.kind: must be one of {', '.join(KINDS)}")
    text = spec.get("text")
    if kind != "action" and not isinstance(text, str):
        raise FlowError(f"{where}.text: a text key is required")
    history = spec.get("history", True)
    if not isinstance(history, bool):
        raise FlowError(f"{where}.history: true or false")
    common = {"id": screen_id, "kind": kind, "text": text, "source": where, "history": history}
    if kind == "menu":
        options = spec.get("options")
        if not isinstance(options, list) or not options:
            raise FlowError(f"{where}.options: a menu needs a list of options")
        return Screen(**common, options=tuple(_option(o, f"{where}.options[{i}]") for i, o in enumerate(options)))
    if kind == "action":
        handler = spec.get("handler")
        if not isinstance(handler, str):
            raise FlowError(f"{where}.handler: an action needs a handler name")
        outcomes = spec.get("next", {})
        if isinstance(outcomes, str):
            outcomes = {"default": outcomes}
        if not isinstance(outcomes, dict) or not all(isinstance(v, str) for v in outcomes.values()):
            raise FlowError(f"{where}.next: map each handler outcome to a screen id")
        args = spec.get("args", {})
        if not isinstance(args, dict):
            raise FlowError(f"{where}.args: must be a mapping")
        return Screen(
            **common,
            handler=handler,
            outcomes={str(k): v for k, v in outcomes.items()},
            args={str(k): str(v) for k, v in args.items()},
        )
    if kind == "input":
        validate = spec.get("validate", "text")
        if validate not in VALIDATORS:
            raise FlowError(f"{where}.validate: must be one of {', '.join(VALIDATORS)}")
        choices = tuple(str(c) for c in spec.get("choices", ()))
        if validate == "choice" and not choices:
            raise FlowError(f"{where}.choices: a choice input needs choices")
        save = spec.get("save")
        if not isinstance(save, str):
            raise FlowError(f"{where}.save: name the data field the answer is saved in")
        return Screen(
            **common,
            validate=validate,
            choices=choices,
            save=save,
            max_length=int(spec.get("max_length", 160)),
            next=_rules(spec.get("next"), f"{where}.next", required=True),
        )
    # info and end
    return Screen(**common, next=_rules(spec.get("next"), f"{where}.next", required=False))


def _option(spec, where: str) -> Option:
    if not isinstance(spec, dict) or not isinstance(spec.get("text"), str):
        raise FlowError(f"{where}: an option needs a text key")
    return Option(text=spec["text"], next=_rules(spec.get("next"), f"{where}.next", required=True), when=spec.get("if"))


def _rules(spec, where: str, required: bool) -> tuple[Rule, ...]:
    if spec is None:
        if required:
            raise FlowError(f"{where}: required")
        return ()
    if isinstance(spec, str):
        return (Rule(goto=spec),)
    if isinstance(spec, list) and all(isinstance(r, dict) and isinstance(r.get("goto"), str) for r in spec):
        rules = tuple(Rule(goto=r["goto"], when=r.get("if")) for r in spec)
        if rules[-1].when is not None:
            raise FlowError(f"{where}: the last rule needs no `if`, so some screen always follows")
        return rules
    raise FlowError(f"{where}: a screen id, or a list of {{if: fact, goto: screen}}")


def targets(screen: Screen) -> list[tuple[str, str]]:
    """Every (where, screen reference) a screen can lead to, for reference and reachability checks."""
    found = [(f"{screen.source}.next", rule.goto) for rule in screen.next]
    for i, option in enumerate(screen.options):
        found += [(f"{screen.source}.options[{i}].next", rule.goto) for rule in option.next]
    found += [(f"{screen.source}.next.{outcome}", goto) for outcome, goto in screen.outcomes.items()]
    return found


def split_target(flow: Flow, target: str) -> tuple[str, str]:
    """'screen' within the same flow, or 'flow/screen' (or 'flow' for its start) in another."""
    if "/" in target:
        flow_name, _, screen = target.partition("/")
        return flow_name, screen
    return flow.name, target


def _check_references(flow_set: FlowSet) -> None:
    for flow in flow_set.flows.values():
        for screen in flow.screens.values():
            for where, target in targets(screen):
                flow_name, screen_id = split_target(flow, target)
                other = flow_set.flows.get(flow_name)
                if other is None:
                    raise FlowError(f"{where} → unknown flow {flow_name!r}")
                if screen_id and screen_id not in other.screens:
                    raise FlowError(f"{where} → unknown screen {target!r}")
