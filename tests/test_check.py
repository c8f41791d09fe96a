"""`run.py check`: every mistake an operator can make in menus/ and templates/ is refused before
deploying, with the file and the key named; SMS sizes are reported per template; `serve` refuses
to start on the same errors.

Each breakage edits one thing in a copy of the shipped files, the way an operator would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gateway.app import CheckFailed, create_app
from gateway.engine import flows as flows_module
from gateway.engine.check import Report, check
from gateway.settings import Settings
from handlers.reference.text import fold
from handlers.registry import HANDLER_NAMES
from tests.conftest import ROOT

DEFAULT_LANGUAGE = "es"
# An option label or error line no 182-character USSD screen can hold (a menu title or an info text
# is cut into pages instead, so those are not what overflows a screen).
LONG_TEXT = ("Tell my family and the consulate that I need help now. " * 4).strip()
# A consulate's full name as the directory gives it: the longest realistic value of {office}.
LONG_CONSULATE = (
    "Consulado General de Mexico en San Bernardino, California - Seccion de Proteccion y Asistencia "
    "Consular a Connacionales, Oficina de Atencion las 24 horas del dia, los 365 dias del ano"
)
SHORT_CONSULATE = "Consulado de Mexico en Houston"


@dataclass
class Copy:
    """The shipped menus/ and templates/, copied so a test can break one thing."""

    root: Path

    @property
    def menus(self) -> Path:
        return self.root / "menus"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    def check(self) -> Report:
        return check(self.menus, self.templates, DEFAULT_LANGUAGE, HANDLER_NAMES, fold)

    def edit(self, relative: str, change: Callable[[dict], None]) -> None:
        """Loads a YAML file, lets `change` modify it, writes it back."""
        path = self.root / relative
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def set_text(self, language: str, key: str, value: str | None) -> None:
        """templates/<language>.yaml: the text at a dotted key."""

        def change(data):
            *parents, last = key.split(".")
            node = data
            for part in parents:
                node = node[part]
            node[last] = value

        self.edit(f"templates/{language}.yaml", change)

    def append_line(self, relative: str, line: str) -> int:
        """Appends one line as typed into an editor; returns its line number."""
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        if not text.endswith("\n"):
            text += "\n"
        text += line + "\n"
        path.write_text(text, encoding="utf-8")
        return text.count("\n")


@pytest.fixture
def shipped(tmp_path) -> Copy:
    copy = Copy(tmp_path)
    shutil.copytree(ROOT / "menus", copy.menus)
    shutil.copytree(ROOT / "templates", copy.templates)
    return copy


def errors_naming(report: Report, *parts: str) -> list[str]:
    return [error for error in report.errors if all(part in error for part in parts)]


def template_keys(templates_dir: Path) -> set[tuple[str, str]]:
    """(language, dotted key) of every text in every language file, read independently of the checker."""

    def flatten(tree: dict, prefix: str = ""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from flatten(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    found = set()
    for path in templates_dir.glob("*.yaml"):
        if not path.name.startswith("_"):
            found |= {(path.stem, key) for key in flatten(yaml.safe_load(path.read_text(encoding="utf-8")))}
    return found


# -- one breakage per rule ------------------------------------------------------------------------
# Each returns the line number it broke when that is the only "key" a YAML parser can name.


def option_to_unknown_screen(copy: Copy):
    copy.edit("menus/main.yaml", lambda flow: flow["screens"]["home"]["options"][1].update(next="saef"))


def option_to_unknown_flow(copy: Copy):
    copy.edit("menus/main.yaml", lambda flow: flow["screens"]["home"]["options"][1].update(next="safety/start"))


def outcome_to_unknown_screen(copy: Copy):
    copy.edit("menus/main.yaml", lambda flow: flow["screens"]["alert"]["next"].update(unavailable="unavailabel"))


def keyword_start_to_unknown_screen(copy: Copy):
    copy.edit("menus/keywords.yaml", lambda kw: kw["keywords"]["erase"].update(start="main/erasse"))


def keyword_start_without_argument_to_unknown_screen(copy: Copy):
    copy.edit("menus/keywords.yaml", lambda kw: kw["keywords"]["family"].update(start_without_argument="main/contcts"))


def english_text_deleted(copy: Copy):
    copy.edit("templates/en.yaml", lambda texts: texts["contacts"].pop("ask_name"))


def screen_nothing_leads_to(copy: Copy):
    copy.edit(
        "menus/main.yaml",
        lambda flow: flow["screens"].update(orphan={"kind": "end", "text": "common.unavailable"}),
    )


def handler_misspelt(copy: Copy):
    copy.edit("menus/main.yaml", lambda flow: flow["screens"]["alert"].update(handler="alert.rise"))


def english_option_label_too_long(copy: Copy):
    copy.set_text("en", "home.alert", LONG_TEXT)


def english_error_text_too_long(copy: Copy):
    copy.set_text("en", "errors.choice", LONG_TEXT)


def english_placeholder_sample_too_long(copy: Copy):
    copy.set_text("en", "home.consulate", "Call {office}")
    copy.edit("templates/_placeholders.yaml", lambda samples: samples.update(office=LONG_CONSULATE))


def word_claimed_by_two_keywords(copy: Copy):
    copy.edit("menus/keywords.yaml", lambda kw: kw["keywords"]["erase"]["words"]["es"].append("CITA"))


def word_claimed_twice_but_for_accent_and_case(copy: Copy):
    copy.edit("menus/keywords.yaml", lambda kw: kw["keywords"]["erase"]["words"]["en"].append("cíta"))


def stop_as_keyword(copy: Copy):
    copy.edit("menus/keywords.yaml", lambda kw: kw["keywords"]["alert"]["words"]["en"].append("Stop"))


def cancel_as_keyword(copy: Copy):
    copy.edit("menus/keywords.yaml", lambda kw: kw["keywords"]["safe"]["words"]["en"].append("CANCEL"))


def tab_in_flow_file(copy: Copy) -> int:
    return copy.append_line("menus/main.yaml", "\tkind: end")


def unclosed_brace_in_keywords(copy: Copy) -> int:
    return copy.append_line("menus/keywords.yaml", "  sos: {words: {en: [SOS]}, start: main/alert")


def unquoted_colon_in_template(copy: Copy) -> int:
    return copy.append_line("templates/en.yaml", "extra: Note: dial 0 to go back")


def unterminated_quote_in_placeholders(copy: Copy) -> int:
    return copy.append_line("templates/_placeholders.yaml", 'office: "Consulado de Mexico')


def placeholder_without_sample(copy: Copy):
    copy.set_text("en", "home.consulate", "Call {office}")


# -- found by writing these tests: each fails today (see the reason) ------------------------------


def english_end_text_longer_than_a_page(copy: Copy):
    copy.set_text("en", "language.done", LONG_TEXT)


def english_input_prompt_longer_than_a_page(copy: Copy):
    copy.set_text("en", "consulate.ask", LONG_TEXT)


def placeholder_listed_without_a_value(copy: Copy):
    copy.set_text("en", "home.consulate", "Call {office}")
    copy.append_line("templates/_placeholders.yaml", "office:")


def placeholders_file_is_a_list(copy: Copy):
    (copy.templates / "_placeholders.yaml").write_text("- keywords: ALERTA, CANCELAR\n", encoding="utf-8")


def english_text_left_empty(copy: Copy):
    copy.set_text("en", "home.alert", None)


LONG_NAVIGATION = "x" * 200  # appended to "98 Mas": no USSD page can hold it beside any text


def navigation_more_too_long(copy: Copy):
    copy.set_text("es", "nav.more", "98 Mas" + LONG_NAVIGATION)


def navigation_back_too_long(copy: Copy):
    copy.set_text("en", "nav.back", "0 Back" + LONG_NAVIGATION)


LINE = "line {}"  # stands for the broken line's number, which is all a YAML parser can name

BREAKAGES = [
    # (breakage, file named, key named)
    pytest.param(
        option_to_unknown_screen, "menus/main.yaml", "screens.home.options[1].next", id="option-unknown-screen"
    ),
    pytest.param(option_to_unknown_flow, "menus/main.yaml", "screens.home.options[1].next", id="option-unknown-flow"),
    pytest.param(
        outcome_to_unknown_screen, "menus/main.yaml", "screens.alert.next.unavailable", id="outcome-unknown-screen"
    ),
    pytest.param(
        keyword_start_to_unknown_screen,
        "menus/keywords.yaml",
        "keywords.erase.start",
        id="keyword-start-unknown-screen",
    ),
    pytest.param(
        keyword_start_without_argument_to_unknown_screen,
        "menus/keywords.yaml",
        "keywords.family.start_without_argument",
        id="keyword-start-without-argument-unknown-screen",
    ),
    pytest.param(english_text_deleted, "templates/en.yaml", "contacts.ask_name", id="missing-translation"),
    pytest.param(screen_nothing_leads_to, "menus/main.yaml", "screens.orphan", id="unreachable-screen"),
    pytest.param(handler_misspelt, "menus/main.yaml", "screens.alert.handler", id="unknown-handler"),
    pytest.param(english_option_label_too_long, "menus/main.yaml", "screens.home (en)", id="ussd-too-long-option-en"),
    pytest.param(english_error_text_too_long, "menus/main.yaml", "screens.home (en)", id="ussd-too-long-error-en"),
    pytest.param(
        english_placeholder_sample_too_long, "menus/main.yaml", "screens.home (en)", id="ussd-too-long-placeholder-en"
    ),
    pytest.param(
        word_claimed_by_two_keywords, "menus/keywords.yaml", "keywords.erase.words.es", id="keyword-claimed-twice"
    ),
    pytest.param(
        word_claimed_twice_but_for_accent_and_case,
        "menus/keywords.yaml",
        "keywords.erase.words.en",
        id="keyword-claimed-twice-accent-case",
    ),
    pytest.param(stop_as_keyword, "menus/keywords.yaml", "keywords.alert.words.en", id="carrier-word-STOP"),
    pytest.param(cancel_as_keyword, "menus/keywords.yaml", "keywords.safe.words.en", id="carrier-word-CANCEL"),
    pytest.param(tab_in_flow_file, "menus/main.yaml", LINE, id="invalid-yaml-flow"),
    pytest.param(unclosed_brace_in_keywords, "menus/keywords.yaml", LINE, id="invalid-yaml-keywords"),
    pytest.param(unquoted_colon_in_template, "templates/en.yaml", LINE, id="invalid-yaml-template"),
    pytest.param(
        unterminated_quote_in_placeholders, "templates/_placeholders.yaml", LINE, id="invalid-yaml-placeholders"
    ),
    pytest.param(placeholder_without_sample, "templates/en.yaml", "home.consulate", id="placeholder-without-sample"),
    pytest.param(
        english_end_text_longer_than_a_page,
        "menus/main.yaml",
        "screens.language_done (en)",
        id="ussd-end-screen-over-one-page",
    ),
    pytest.param(
        english_input_prompt_longer_than_a_page,
        "menus/main.yaml",
        "screens.consulate_ask (en)",
        id="ussd-input-screen-over-one-page",
    ),
    pytest.param(
        placeholder_listed_without_a_value,
        "templates/_placeholders.yaml",
        "consulate",
        id="placeholder-listed-without-value",
    ),
    pytest.param(
        placeholders_file_is_a_list,
        "templates/_placeholders.yaml",
        "mapping",
        id="placeholders-not-a-mapping",
    ),
    pytest.param(navigation_back_too_long, "templates/en.yaml", "nav.back", id="navigation-text-too-long"),
    pytest.param(
        english_text_left_empty,
        "templates/en.yaml",
        "home.alert",
        id="empty-translation",
    ),
]


@pytest.mark.parametrize("breakage,file,key", BREAKAGES)
def test_each_mistake_fails_the_check_naming_file_and_key(shipped, breakage, file, key):
    broken_line = breakage(shipped)
    if key == LINE:
        key = LINE.format(broken_line)

    report = shipped.check()

    assert errors_naming(report, file, key), f"no error names {file} and {key}: {report.errors}"


def test_shipped_files_pass():
    report = check(ROOT / "menus", ROOT / "templates", DEFAULT_LANGUAGE, HANDLER_NAMES, fold)

    assert report.errors == []


def test_the_shipped_consent_menu_is_one_sms_in_every_language():
    """Issue 13: the consent question by SMS (its text and both answers) arrives as one message."""
    report = check(ROOT / "menus", ROOT / "templates", DEFAULT_LANGUAGE, HANDLER_NAMES, fold)
    consent = {lang: (kind, segments) for lang, screen, kind, _, segments in report.menus if screen == "main/consent"}
    assert consent == {"es": ("gsm7", 1), "en": ("gsm7", 1)}
    assert not [w for w in report.warnings if "screens.consent " in w]


def test_copy_of_shipped_files_passes(shipped):
    """The fixture itself breaks nothing, so every failure above comes from its one breakage."""
    assert shipped.check().errors == []


# -- what each message says -----------------------------------------------------------------------


def test_broken_reference_names_the_missing_screen(shipped):
    option_to_unknown_screen(shipped)

    assert errors_naming(shipped.check(), "screens.home.options[1].next", "unknown screen 'saef'")


def test_unknown_handler_names_the_handler(shipped):
    handler_misspelt(shipped)

    assert shipped.check().errors == [
        f"{shipped.menus / 'main.yaml'}: screens.alert.handler: no handler named 'alert.rise'"
    ]


def test_missing_translation_says_where_the_key_is_used(shipped):
    english_text_deleted(shipped)

    assert errors_naming(
        shipped.check(), "templates/en.yaml: contacts.ask_name: missing translation", "contacts_add_name"
    )


def test_unreachable_screen_is_named(shipped):
    screen_nothing_leads_to(shipped)

    assert shipped.check().errors == [
        f"{shipped.menus / 'main.yaml'}: screens.orphan: unreachable (no menu, rule or keyword leads here)"
    ]


@pytest.mark.parametrize(
    "breakage,word,owner",
    [
        (word_claimed_by_two_keywords, "'CITA'", "appointment"),
        (word_claimed_twice_but_for_accent_and_case, "'cíta'", "appointment"),
    ],
    ids=["same-word", "accent-and-case"],
)
def test_word_claimed_twice_names_both_keywords(shipped, breakage, word, owner):
    breakage(shipped)

    assert errors_naming(shipped.check(), "keywords.erase", word, f"claimed twice (also by {owner})")


@pytest.mark.parametrize(
    "breakage,word", [(stop_as_keyword, "'Stop'"), (cancel_as_keyword, "'CANCEL'")], ids=["STOP", "CANCEL"]
)
def test_carrier_word_is_refused(shipped, breakage, word):
    breakage(shipped)

    assert errors_naming(shipped.check(), word, "reserved by carriers")


def test_invalid_yaml_says_so_and_gives_the_line(shipped):
    line = unquoted_colon_in_template(shipped)

    assert errors_naming(shipped.check(), "templates/en.yaml: invalid YAML", f"line {line}")


# -- USSD screen size, per language ---------------------------------------------------------------


@pytest.mark.parametrize(
    "breakage",
    [english_option_label_too_long, english_error_text_too_long, english_placeholder_sample_too_long],
    ids=["option-label", "error-text", "placeholder-sample"],
)
def test_screen_too_long_in_english_only_fails_in_english_only(shipped, breakage):
    breakage(shipped)

    report = shipped.check()

    assert report.errors
    for error in report.errors:
        assert "(en): " in error and "USSD page" in error, error
    assert not [error for error in report.errors if "(es)" in error]


def test_the_longest_placeholder_sample_is_what_overflows(shipped):
    shipped.set_text("en", "home.consulate", "Call {office}")
    shipped.edit("templates/_placeholders.yaml", lambda samples: samples.update(office=SHORT_CONSULATE))
    assert shipped.check().errors == []

    shipped.edit("templates/_placeholders.yaml", lambda samples: samples.update(office=LONG_CONSULATE))
    assert errors_naming(shipped.check(), "screens.home (en): USSD page")


def test_long_menu_title_is_paged_not_refused(shipped):
    """A menu title too long for one screen continues on the next page ("98 More")."""
    shipped.set_text("en", "home.title", LONG_TEXT)

    assert shipped.check().errors == []


# -- SMS sizes ------------------------------------------------------------------------------------


def test_report_gives_encoding_and_segments_for_every_template_in_every_language():
    report = check(ROOT / "menus", ROOT / "templates", DEFAULT_LANGUAGE, HANDLER_NAMES, fold)

    listed = [(language, key) for language, key, *_ in report.templates]
    assert sorted(listed) == sorted(template_keys(ROOT / "templates"))
    assert {language for language, _ in listed} == {"es", "en"}
    for language, key, encoding, units, segments in report.templates:
        assert encoding in ("gsm7", "ucs2"), (language, key)
        assert units >= 0 and segments >= 1, (language, key)


def sms_text_of(length: int) -> str:
    text = ("Send ALERT if you are in danger, SAFE when you are fine, CONSULATE and your ZIP code. " * 3)[:length]
    assert len(text) == length and text[-1] != " "
    return text


def shape(report: Report, language: str, key: str) -> tuple[str, int, int]:
    [found] = [
        (enc, units, segments) for lang, k, enc, units, segments in report.templates if (lang, k) == (language, key)
    ]
    return found


# alert.safe is only ever an SMS (no USSD screen shows it), so its length is free to test.
def test_160_gsm7_characters_fit_one_sms(shipped):
    shipped.set_text("en", "alert.safe", sms_text_of(160))

    report = shipped.check()

    assert report.errors == []
    assert shape(report, "en", "alert.safe") == ("gsm7", 160, 1)
    assert not [warning for warning in report.warnings if "alert.safe" in warning]


def test_161_gsm7_characters_warn_of_a_second_sms(shipped):
    shipped.set_text("en", "alert.safe", sms_text_of(161))

    report = shipped.check()

    assert report.errors == []
    assert shape(report, "en", "alert.safe") == ("gsm7", 161, 2)
    assert "templates/en.yaml: alert.safe: 2 SMS segments (gsm7, 161 units) when sent by SMS" in report.warnings


def test_an_accented_a_makes_the_text_ucs2(shipped):
    shipped.set_text("es", "outcome.ok", "Listo, ya está.")

    report = shipped.check()

    assert report.errors == []
    assert shape(report, "es", "outcome.ok") == ("ucs2", 15, 1)


def test_placeholders_are_measured_with_their_longest_sample(shipped):
    """help.sms is "...{keywords}."; an á turns its 70-character-per-SMS limit on, so it warns."""
    shipped.set_text("es", "help.sms", "Lifeline. Mándenos una palabra: {keywords}.")
    samples = yaml.safe_load((shipped.templates / "_placeholders.yaml").read_text(encoding="utf-8"))
    rendered = "Lifeline. Mándenos una palabra: {keywords}.".format(**samples)

    report = shipped.check()

    encoding, units, segments = shape(report, "es", "help.sms")
    assert (encoding, units) == ("ucs2", len(rendered))
    assert segments == 2 and len(rendered) > 70
    assert (
        f"templates/es.yaml: help.sms: 2 SMS segments (ucs2, {len(rendered)} units) when sent by SMS" in report.warnings
    )


# -- the command line -----------------------------------------------------------------------------


def run_py(tmp_path: Path, *args: str, menus: Path = ROOT / "menus", root: Path = ROOT) -> subprocess.CompletedProcess:
    """root's run.py with its config; a hang fails the test after the timeout instead of blocking the suite."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LIFELINE_MENUS": str(menus),
        "LIFELINE_CONFIG": str(root / "config"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "LIFELINE_KEY_FILE": str(tmp_path / "cli.key"),
        "SMS_PROVIDERS": "console",
    }
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )


def test_cli_check_passes_on_the_shipped_files(tmp_path):
    result = run_py(tmp_path, "check")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"0 error\(s\), \d+ warning\(s\)", lines[-1])
    sizes = [line for line in lines if re.fullmatch(r"(es|en)  \S+ +(gsm7|ucs2) +\d+ units  \d+ segments?", line)]
    assert len(sizes) == len(template_keys(ROOT / "templates"))


def test_cli_check_fails_on_a_broken_menu(shipped, tmp_path):
    handler_misspelt(shipped)

    result = run_py(tmp_path, "check", menus=shipped.menus)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"error: {shipped.menus / 'main.yaml'}: screens.alert.handler: no handler named 'alert.rise'" in lines
    assert lines[-1] == "1 error(s), 0 warning(s)"


def test_cli_check_fails_on_invalid_yaml(shipped, tmp_path):
    line = tab_in_flow_file(shipped)

    result = run_py(tmp_path, "check", menus=shipped.menus)

    assert result.returncode == 1
    [error] = [out for out in result.stdout.splitlines() if out.startswith("error: ")]
    assert f"{shipped.menus / 'main.yaml'}: invalid YAML" in error and f"line {line}" in result.stdout


# -- serve refuses to start -----------------------------------------------------------------------


def test_create_app_refuses_broken_menus(shipped):
    handler_misspelt(shipped)
    settings = Settings.from_env({"LIFELINE_MENUS": str(shipped.menus), "LIFELINE_CONFIG": str(ROOT / "config")})

    with pytest.raises(CheckFailed, match=r"1 error\(s\) .*screens\.alert\.handler: no handler named 'alert\.rise'"):
        create_app(settings)


def test_create_app_reads_menus_and_texts_once(monkeypatch):
    # The check's own reading is what the service runs on: start-up parses each file once.
    read = []
    real_read = flows_module._load_flow

    def counting_read(path):
        read.append(path.name)
        return real_read(path)

    monkeypatch.setattr(flows_module, "_load_flow", counting_read)
    settings = Settings.from_env({"LIFELINE_MENUS": str(ROOT / "menus"), "LIFELINE_CONFIG": str(ROOT / "config")})

    create_app(settings)

    assert read == ["main.yaml"]


def test_serve_exits_2_with_one_line_on_broken_menus(shipped, tmp_path):
    handler_misspelt(shipped)

    result = run_py(tmp_path, "serve", "--port", "0", menus=shipped.menus)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "lifeline: 1 error(s) in menus or templates (run.py check): "
        f"{shipped.menus / 'main.yaml'}: screens.alert.handler: no handler named 'alert.rise'"
    ]
    assert not (tmp_path / "cli.db").exists()  # refused before touching the database


# -- navigation texts that cannot fit a screen: refused, never a hang -----------------------------


def test_a_back_line_longer_than_a_screen_is_refused_naming_its_key(shipped):
    navigation_back_too_long(shipped)

    assert errors_naming(shipped.check(), "templates/en.yaml: nav.back: 206 characters", "at most 137")


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    """The code and its files, copied: run.py reads templates/ next to its code, so an operator's edit of
    templates/es.yaml is an edit of this copy."""
    root = tmp_path / "lifeline"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("gateway", "handlers", "store", "templates", "menus", "config"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    shutil.copy(ROOT / "run.py", root / "run.py")
    Copy(root).set_text("es", "nav.more", "98 Mas" + LONG_NAVIGATION)
    return root


def run_copy(root: Path, *args: str) -> subprocess.CompletedProcess:
    """run.py of the copy, on its own menus and config."""
    return run_py(root, *args, menus=root / "menus", root=root)


def test_cli_check_names_a_navigation_text_too_long_for_a_screen_instead_of_hanging(repo_copy):
    result = run_copy(repo_copy, "check")

    assert result.returncode == 1
    assert result.stdout.splitlines()[-2:] == [
        "error: templates/es.yaml: nav.more: 206 characters; a navigation line may have at most 137, so that a "
        "182-character USSD page keeps room for its text",
        "1 error(s), 0 warning(s)",
    ]


def test_serve_refuses_a_navigation_text_too_long_for_a_screen_instead_of_hanging(repo_copy):
    result = run_copy(repo_copy, "serve", "--port", "0")

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("lifeline: 1 error(s) in menus or templates (run.py check): templates/es.yaml: nav.more:")
    assert not (repo_copy / "cli.db").exists()


# -- a menu sent by SMS is one message: its title and its options ---------------------------------


def menu_shape(report: Report, language: str, screen: str) -> tuple[str, int, int]:
    [found] = [
        (enc, units, segments) for lang, s, enc, units, segments in report.menus if (lang, s) == (language, screen)
    ]
    return found


def test_a_menu_is_measured_as_one_sms_with_its_options(shipped):
    """A 150-character title fits one SMS alone; with the seven options below it, the menu needs two."""
    title = sms_text_of(150)
    shipped.set_text("es", "home.title", title)

    report = shipped.check()

    assert report.errors == []
    assert shape(report, "es", "home.title") == ("gsm7", 150, 1)
    encoding, units, segments = menu_shape(report, "es", "main/home")
    assert (encoding, segments) == ("gsm7", 2) and units > 160
    where = f"{shipped.menus / 'main.yaml'}: screens.home (es)"
    assert f"{where}: 2 SMS segments (gsm7, {units} units) when the menu is sent by SMS" in report.warnings


async def test_check_counts_a_menu_as_the_sms_a_person_receives(start):
    """The consent menu by SMS, as it reaches the phone, measured as `check` measures it."""
    from gateway import encoding
    from tests.test_flows_sms import Phone

    phone = Phone(await start("console"))
    received = await phone.send("FAMILIA +1 713 555 0199 Maria")  # the consent menu comes first
    report = check(ROOT / "menus", ROOT / "templates", DEFAULT_LANGUAGE, HANDLER_NAMES, fold)

    measured = encoding.measure(received)
    assert menu_shape(report, "es", "main/consent") == (measured.encoding.value, measured.units, measured.segments)


def test_cli_check_lists_each_menu_as_sms(tmp_path):
    result = run_py(tmp_path, "check")

    menus = [
        line
        for line in result.stdout.splitlines()
        if re.fullmatch(r"(es|en)  menu main/\S+ +(gsm7|ucs2) +\d+ units  \d+ segments?", line)
    ]
    assert any(line.startswith("es  menu main/home ") for line in menus)
    assert len(menus) == 2 * sum(
        1 for s in yaml.safe_load((ROOT / "menus/main.yaml").read_text())["screens"].values() if s["kind"] == "menu"
    )
