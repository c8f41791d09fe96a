"""`run.py check`: everything an operator can break by editing YAML, found before deploying.

Errors (each naming file and key): invalid YAML, a broken reference, a handler that does not exist,
a missing translation, an unreachable screen, a keyword claimed twice, a USSD screen over 182
characters in any language (rendered with the longest realistic placeholder values). It also
reports each template's SMS encoding and segment count, and those of each menu as one SMS (its title and
numbered options), warning where a text or a menu needs two SMS.
"""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gateway import encoding, yamltext
from gateway.engine.engine import Show
from gateway.engine.flows import FlowError, FlowSet, load_flows, split_target, targets
from gateway.engine.keywords import KeywordError, Keywords
from gateway.engine.render import NAV_KEYS, NAV_MAX, USSD_LIMIT, sms_text, ussd_pages
from gateway.texts import Texts, TextsError

# Keys the engine and the conversation use themselves, whatever the flows say.
SYSTEM_KEYS = (
    "nav.back",
    "nav.more",
    "resume.option",
    "help.sms",
    "errors.choice",
    "errors.ussd_unavailable",
    "outcome.unavailable",
)
# A keyword's argument, typed after the word, is at most about this long on a screen.
ARGUMENT_SAMPLE = "W" * 60


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    templates: list[tuple[str, str, str, int, int]] = field(
        default_factory=list
    )  # lang, key, encoding, units, segments
    menus: list[tuple[str, str, str, int, int]] = field(default_factory=list)  # lang, screen, encoding, units, segments
    loaded: Loaded | None = None  # what was checked, for the service to run on without reading it all again


@dataclass(frozen=True)
class Loaded:
    flows: FlowSet
    keywords: Keywords
    texts: Texts


def load_all(menus_dir: Path, templates_dir: Path, default_language: str, fold: Callable[[str], str]) -> Loaded:
    """Flows, keywords and texts; raises FlowError, KeywordError or TextsError naming file and key."""
    flows = load_flows(menus_dir)
    keywords = Keywords.load(menus_dir / "keywords.yaml", fold)
    texts = Texts.load(templates_dir, default_language)
    return Loaded(flows, keywords, texts)


def check(
    menus_dir: Path,
    templates_dir: Path,
    default_language: str,
    handler_names: Collection[str],
    fold: Callable[[str], str],
) -> Report:
    """Every problem in the shipped (or edited) menus, keywords and templates; handler_names are the
    handlers `action` screens may name, fold the rule that makes two spellings of a keyword one."""
    report = Report()
    try:
        loaded = load_all(menus_dir, templates_dir, default_language, fold)
    except (FlowError, KeywordError, TextsError) as exc:
        report.errors.append(str(exc))
        return report
    report.loaded = loaded
    flows, keywords, texts = loaded.flows, loaded.keywords, loaded.texts
    _check_keyword_targets(flows, keywords, report)
    _check_handlers(flows, handler_names, report)
    used = _used_keys(flows)
    _check_translations(texts, used, report)
    _check_reachable(flows, keywords, report)
    _check_navigation(texts, report)
    if report.errors:
        return report  # sizes are meaningless while keys or screens are missing, or navigation cannot fit
    samples = _samples(templates_dir, flows, keywords, report)
    _check_ussd_sizes(flows, texts, samples, report)
    _report_templates(texts, samples, report)
    _report_sms_menus(flows, texts, samples, report)
    return report


def _check_keyword_targets(flows: FlowSet, keywords: Keywords, report: Report) -> None:
    home = flows.flows[flows.home]
    for where, target in keywords.targets():
        flow_name, screen = split_target(home, target)
        if flow_name not in flows.flows or (screen and screen not in flows.flows[flow_name].screens):
            report.errors.append(f"{where} → unknown screen {target!r}")


def _check_handlers(flows: FlowSet, handler_names: Collection[str], report: Report) -> None:
    for flow in flows.flows.values():
        for screen in flow.screens.values():
            if screen.kind == "action" and screen.handler not in handler_names:
                report.errors.append(f"{screen.source}.handler: no handler named {screen.handler!r}")


def _used_keys(flows: FlowSet) -> dict[str, str]:
    """Text key → where it is first used."""
    used = {key: "the engine" for key in SYSTEM_KEYS}
    for flow in flows.flows.values():
        for screen in flow.screens.values():
            if screen.text:
                used.setdefault(screen.text, f"{screen.source}.text")
            for i, option in enumerate(screen.options):
                used.setdefault(option.text, f"{screen.source}.options[{i}].text")
            if screen.kind == "input":
                used.setdefault(f"errors.{screen.validate}", f"{screen.source}.validate")
    return used


def _check_translations(texts: Texts, used: dict[str, str], report: Report) -> None:
    every = set(used)
    for language in texts.languages:
        every |= texts.keys(language)
    for language in texts.languages:
        for key in sorted(every - texts.keys(language)):
            where = used.get(key, f"templates/{texts.default_language}.yaml")
            report.errors.append(f"templates/{language}.yaml: {key}: missing translation (used by {where})")


def _check_reachable(flows: FlowSet, keywords: Keywords, report: Report) -> None:
    home = flows.flows[flows.home]
    entries = [(home.name, home.start)]
    for _, target in keywords.targets():
        flow_name, screen = split_target(home, target)
        if flow_name in flows.flows:
            entries.append((flow_name, screen or flows.flows[flow_name].start))
    seen = set()
    queue = deque(entries)
    while queue:
        flow_name, screen_id = queue.popleft()
        if (flow_name, screen_id) in seen or screen_id not in flows.flows[flow_name].screens:
            continue
        seen.add((flow_name, screen_id))
        flow = flows.flows[flow_name]
        for _, target in targets(flow.screens[screen_id]):
            other_flow, other_screen = split_target(flow, target)
            queue.append((other_flow, other_screen or flows.flows[other_flow].start))
    for flow in flows.flows.values():
        for screen in flow.screens.values():
            if (flow.name, screen.id) not in seen:
                report.errors.append(f"{screen.source}: unreachable (no menu, rule or keyword leads here)")


def _check_navigation(texts: Texts, report: Report) -> None:
    """A navigation line ("98 Mas") sits beside the text of every long screen: it must leave room for it."""
    for language in texts.languages:
        for key in NAV_KEYS:
            text = texts.raw(language, key) or ""
            if len(text) > NAV_MAX:
                report.errors.append(
                    f"templates/{language}.yaml: {key}: {len(text)} characters; a navigation line may have at most "
                    f"{NAV_MAX}, so that a {USSD_LIMIT}-character USSD page keeps room for its text"
                )


def _samples(templates_dir: Path, flows: FlowSet, keywords: Keywords, report: Report) -> dict[str, str]:
    """The longest realistic value of every placeholder."""
    samples: dict[str, str] = {}
    for flow in flows.flows.values():
        for screen in flow.screens.values():
            if screen.save:
                samples[screen.save] = "W" * screen.max_length
    for keyword in keywords.keywords:
        if keyword.argument:
            samples[keyword.argument] = ARGUMENT_SAMPLE
    path = templates_dir / "_placeholders.yaml"
    if path.exists():
        try:
            declared = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            report.errors.append(f"{path}: invalid YAML: {exc}")
            declared = {}
        if not isinstance(declared, dict):
            report.errors.append(f"{path}: must be a mapping of placeholder → its longest realistic value")
            declared = {}
        for name, value in declared.items():
            if value is None or str(value) == "":
                report.errors.append(f"{path}: {name}: no sample value")
            else:
                samples[str(name)] = str(value)
    return samples


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _check_ussd_sizes(flows: FlowSet, texts: Texts, samples: dict[str, str], report: Report) -> None:
    for language in texts.languages:

        def say(key, values, language=language):
            return texts.say(language, key, values)

        for flow in flows.flows.values():
            for screen in flow.screens.values():
                if screen.kind == "action":
                    continue
                errors = [None, "errors.choice"] if screen.kind == "menu" else [None]
                if screen.kind == "input":
                    errors.append(f"errors.{screen.validate}")
                for error in errors:
                    show = Show(
                        screen=screen.id,
                        text=screen.text or "",
                        options=tuple(o.text for o in screen.options),
                        ends=screen.kind == "end",
                        error=error,
                        values=samples,
                        kind=screen.kind,
                        can_go_back=True,  # the longest form of the screen
                    )
                    # Only menus and info texts page with 98: an END closes the session, and on an
                    # input screen 98 would be taken as the answer.
                    one_page = screen.kind in ("end", "input")
                    _check_pages(show, say, f"{screen.source} ({language})", one_page, report, screen.text)
        home = flows.flows[flows.home]
        menu = home.screens[home.start]
        resume = Show(
            "resume",
            menu.text or "",
            (*(o.text for o in menu.options), "resume.option"),
            error="errors.choice",
            kind="menu",
        )
        _check_pages(resume, say, f"the main menu with the resume line ({language})", False, report, "resume.option")
        for key in texts.keys(language):
            if key.startswith("outcome."):
                _check_pages(Show(key, key, ends=True, values=samples), say, f"{key} ({language})", True, report, key)


def _check_pages(show: Show, say, where: str, one_page: bool, report: Report, text_key: str | None) -> None:
    pages = ussd_pages(show, say)
    found = []
    about = f" (text {text_key})" if text_key else ""
    for number, page in enumerate(pages):
        length = len(page) + 4  # "CON " / "END "
        if length > USSD_LIMIT:
            found.append(f"{where}: USSD page {number + 1} is {length} characters (limit {USSD_LIMIT}){about}")
    if one_page and len(pages) > 1:
        found.append(f"{where}: needs {len(pages)} USSD pages; this screen must fit one{about}")
    report.errors.extend(e for e in found if e not in report.errors)


def _report_templates(texts: Texts, samples: dict[str, str], report: Report) -> None:
    for language in texts.languages:
        for key in sorted(texts.keys(language)):
            template = texts.raw(language, key)
            missing = _placeholders(template) - set(samples)
            if missing:
                report.errors.append(
                    f"templates/{language}.yaml: {key}: no sample value for {', '.join(sorted(missing))} "
                    "in templates/_placeholders.yaml"
                )
                continue
            shape = encoding.measure(texts.say(language, key, samples))
            report.templates.append((language, key, shape.encoding.value, shape.units, shape.segments))
            if shape.segments > 1:
                report.warnings.append(
                    f"templates/{language}.yaml: {key}: {shape.segments} SMS segments ({shape.encoding.value}, "
                    f"{shape.units} units) when sent by SMS"
                )


def _report_sms_menus(flows: FlowSet, texts: Texts, samples: dict[str, str], report: Report) -> None:
    """A menu sent by SMS is one message, its title and every option: measured as the person receives it."""
    for language in texts.languages:

        def say(key, values, language=language):
            return texts.say(language, key, values)

        for flow in flows.flows.values():
            for screen in flow.screens.values():
                if screen.kind != "menu":
                    continue
                options = tuple(o.text for o in screen.options)
                show = Show(screen.id, screen.text or "", options, values=samples, kind="menu")
                shape = encoding.measure(sms_text(show, say))
                report.menus.append(
                    (language, f"{flow.name}/{screen.id}", shape.encoding.value, shape.units, shape.segments)
                )
                if shape.segments > 1:
                    report.warnings.append(
                        f"{screen.source} ({language}): {shape.segments} SMS segments ({shape.encoding.value}, "
                        f"{shape.units} units) when the menu is sent by SMS"
                    )
