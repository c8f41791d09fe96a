"""Which consular network serves a person: their nationality, chosen by them (PAIS GT, or a menu);
until they choose, their number's country, else the deployment's first network."""

from __future__ import annotations

from handlers.outcome import Request, Result
from handlers.reference.consulates import Directory
from handlers.reference.text import words
from store import people

# What people type after PAIS / COUNTRY, folded; a code the deployment has no network for is refused.
NAMES = {
    "MX": "MX", "MEXICO": "MX", "MEXICANO": "MX", "MEXICANA": "MX", "MEXICAN": "MX",
    "GT": "GT", "GUATEMALA": "GT", "GUATEMALTECO": "GT", "GUATEMALTECA": "GT", "GUATEMALAN": "GT",
    "SV": "SV", "EL SALVADOR": "SV", "SALVADORENO": "SV", "SALVADORENA": "SV",
    "HN": "HN", "HONDURAS": "HN", "HONDURENO": "HN", "HONDURENA": "HN",
}  # fmt: skip


def choose(request: Request, directory: Directory) -> Result:
    """Saves the nationality given by the screen's args or typed after the keyword."""
    if not people.has_consented(request.person_id):
        return Result(outcome="needs_consent")
    wanted = request.args.get("nationality") or request.data.get("nationality", "")
    code = NAMES.get(" ".join(words(wanted)), wanted.strip().upper())
    network = next((n for n in directory.networks if n.network == code), None)
    if network is None:
        return Result(outcome="unknown", values={"nationality": ""})
    people.set_nationality(request.person_id, code)
    return Result(outcome="saved", values={"nationality": code, "central": network.central.short_name})
