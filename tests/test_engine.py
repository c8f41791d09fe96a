"""The engine on its own: pure functions of (session, input, facts), no store and no HTTP."""

from __future__ import annotations

import pytest
import yaml

from gateway.app import READING
from gateway.engine.check import load_all
from gateway.engine.engine import Context, Engine, Session
from gateway.engine.flows import Screen
from gateway.engine.validators import validate
from tests.conftest import ROOT
from tests.test_flows_sms import Phone


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_all(ROOT / "menus", ROOT / "templates", "es", READING.fold).flows, READING)


CONSENTED = Context(facts=frozenset({"has_consent"}))


def test_rules_and_options_follow_facts(engine):
    assert engine.answer(engine.home(Context()).session, "5", Context()).show.text == "consent.body"
    contacts = engine.answer(engine.home(CONSENTED).session, "5", CONSENTED)
    assert contacts.show.options == (
        "contacts.add",
        "contacts.location",
        "contacts.pins",
        "contacts.name",
        "contacts.nationality",
    )
    known = Context(facts=frozenset({"has_consent", "has_contacts"}))
    contacts = engine.answer(engine.home(known).session, "5", known)
    assert contacts.show.options == (
        "contacts.list",
        "contacts.add",
        "contacts.remove",
        "contacts.location",
        "contacts.pins",
        "contacts.name",
        "contacts.nationality",
    )
    # Numbering follows what is shown: with contacts, 3 is "remove", which first lists them to choose from.
    assert engine.answer(contacts.session, "3", known).call.handler == "contacts.choices"
    full = Context(facts=frozenset({"has_consent", "has_contacts", "contacts_full"}))
    assert engine.answer(engine.home(full).session, "5", full).show.options == (
        "contacts.list",
        "contacts.remove",
        "contacts.location",
        "contacts.pins",
        "contacts.name",
        "contacts.nationality",
    )


def test_an_action_asks_the_caller_to_run_its_handler_and_goes_on_by_outcome(engine):
    step = engine.answer(engine.home(Context()).session, "7", Context())
    step = engine.answer(step.session, "2", Context())
    assert step.show is None and step.call.handler == "language.set" and step.call.args == {"language": "en"}
    done = engine.after(step.session, "ok", {}, Context())
    assert done.show.text == "language.done" and done.show.ends


def test_an_outcome_the_flow_does_not_map_ends_with_its_generic_text(engine):
    step = engine.answer(engine.home(Context()).session, "1", Context())
    end = engine.after(step.session, "exploded", {}, Context())
    assert (end.show.text, end.show.ends) == ("outcome.exploded", True)


def test_sessions_round_trip_through_json(engine):
    step = engine.answer(engine.home(CONSENTED).session, "5", CONSENTED)
    step = engine.answer(step.session, "1", CONSENTED)
    again = Session.from_json(step.session.to_json())
    assert again == step.session
    assert engine.answer(again, "7135550142", CONSENTED).call.handler == "contacts.read_phone"


@pytest.mark.parametrize(
    "typed,region,saved",
    [
        ("7135550142", "US", "+17135550142"),
        ("(713) 555-0142", "US", "+17135550142"),
        ("001 713 555 0142", "MX", "+17135550142"),
        ("+1 713 555 0142", "MX", "+17135550142"),
        ("55 5550 0142", "MX", "+525555500142"),
        ("011 52 1 55 5550 0142", "US", "+525555500142"),  # 011 for "+", which USSD cannot type
    ],
)
def test_phone_answers_are_read_in_the_persons_country(typed, region, saved):
    screen = Screen(id="phone", kind="input", validate="phone")
    assert validate("phone", typed, screen, region, READING) == saved


async def test_language_is_guessed_from_the_numbers_country(start, config_dir):
    policy = yaml.safe_load((config_dir / "policy.yaml").read_text())
    policy["default_language"] = "en"  # a deployment answering in English unless the country says otherwise
    (config_dir / "policy.yaml").write_text(yaml.safe_dump(policy))
    client = await start("console")
    assert (await Phone(client, "+525555500142").send("hola")).startswith("Para pedir ayuda ahora responda 1.")
    assert (await Phone(client, "+17135550142").send("hola")).startswith("To ask for help now reply 1.")


def test_a_missing_text_falls_back_to_a_short_generic_one_instead_of_failing():
    from gateway.texts import Texts

    texts = Texts.load(ROOT / "templates", "es")
    assert texts.say("es", "outcome.exploded") == texts.say("es", "outcome.unavailable")
