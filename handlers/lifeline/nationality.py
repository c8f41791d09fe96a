"""Which consular network serves a person: their nationality, chosen by them (PAIS GT, or a menu);
until they choose, their number's country, else the deployment's first network. A number from a country
with no network here, and not from where the consulates are, says the person is likely of a nationality
not served: consulate search and booking ask first rather than assume (an alert never asks)."""

from __future__ import annotations

from handlers.outcome import Request, Result
from handlers.reference.consulates import Central, Directory, Network
from handlers.reference.numbers import region_of
from handlers.reference.text import words
from handlers.reference.vocabulary import Vocabulary
from store import people

# What people type after PAIS / COUNTRY, folded, besides the countries' names in the language files.
NAMES = {
    "MX": "MX", "MEXICO": "MX", "MEXICANO": "MX", "MEXICANA": "MX", "MEXICAN": "MX",
    "GT": "GT", "GUATEMALA": "GT", "GUATEMALTECO": "GT", "GUATEMALTECA": "GT", "GUATEMALAN": "GT",
    "SV": "SV", "EL SALVADOR": "SV", "SALVADORENO": "SV", "SALVADORENA": "SV", "SALVADORAN": "SV",
    "HN": "HN", "HONDURAS": "HN", "HONDURENO": "HN", "HONDURENA": "HN", "HONDURAN": "HN",
}  # fmt: skip

# The session's data: the nationality picked when a search asked (kept for the session only when the person
# has not agreed to storing anything), and where the search goes on once it is known.
PICKED = "picked_nationality"
THEN = "nationality_then"


def choose(request: Request, directory: Directory, vocabulary: Vocabulary) -> Result:
    """Saves the nationality given by the screen's args or typed after the keyword; one with no network here is
    told so, with the 24-hour line, and the served ones offered."""
    wanted = request.args.get("nationality") or request.data.get("nationality", "")
    code = NAMES.get(" ".join(words(wanted))) or vocabulary.country_named(wanted) or wanted.strip().upper()
    if code not in directory.nationalities:
        if not vocabulary.country_named(code):
            return Result(outcome="unknown", values={"nationality": ""})
        return unserved(request, directory)
    then = request.data.get(THEN, "")
    if then:
        # Asked by a search: it goes on; the answer is kept only if the person agreed to storing.
        if people.has_consented(request.person_id):
            people.set_nationality(request.person_id, code)
        return Result(outcome=then, values={PICKED: code, THEN: "", "nationality": ""})
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent", values={"nationality": code})  # saved once they agree
    people.set_nationality(request.person_id, code)
    central = directory.network_for(code).central
    return Result(outcome="saved", values={"nationality": code, "central": _line(central)})


def unserved(request: Request, directory: Directory) -> Result:
    """A nationality with no network here: said plainly, with the 24-hour line that answers instead."""
    return Result(outcome="unserved", values={"nationality": "", "line": _line(directory.networks[0].central)})


def network_of(request: Request, directory: Directory) -> Network:
    """The network whose consulates serve the person: their nationality, else their number's country's."""
    chosen = people.nationality_of(request.person_id) or request.data.get(PICKED)
    return directory.network_for(chosen or region_of(request.phone))


def unasked(request: Request, directory: Directory) -> bool:
    """Their number is from a country with no network here, nor where the consulates are, and they have not
    said their nationality: whose consulates serve them must be asked, not assumed."""
    if people.nationality_of(request.person_id) or request.data.get(PICKED):
        return False
    region = region_of(request.phone)
    return region not in directory.nationalities and region not in directory.host_countries


def ask(then: str) -> Result:
    """The question, before a search that goes on at `then` (an outcome of the nationality screens)."""
    return Result(outcome="nationality", values={THEN: then})


def _line(central: Central) -> str:
    return f"{central.short_name} {central.phones[0]}"
