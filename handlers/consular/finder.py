"""Find a consulate: from a ZIP code, a city or a state, offline; the responsible consulate first
(jurisdiction beats distance), then the nearest, one at a time."""

from __future__ import annotations

from handlers.consular.appointments import by_distance
from handlers.lifeline import nationality
from handlers.outcome import Request, Result
from handlers.reference.consulates import Consulate, Directory, name_for
from handlers.reference.places import Place, distance_km, find_place
from handlers.reference.vocabulary import Vocabulary
from store import people

SHOWN = 5  # consulates one can page through


def find(request: Request, directory: Directory, vocabulary: Vocabulary) -> Result:
    """CONSULADO <ZIP | city [state] | state>, or the place typed on the USSD screen, or the saved one."""
    if nationality.unasked(request, directory):
        return nationality.ask(then="consulate")
    text = request.data.get("place_text") or ""
    if request.args.get("saved"):
        home = people.location_of(request.person_id)
        text = home[0] if home else ""
    if not text.strip():
        return Result(outcome="ask")
    place = find_place(text)
    if place is None:
        return Result(outcome="unknown", values={"place_text": ""})
    network = nationality.network_of(request, directory)
    responsible = network.responsible(zip_code=place.zip_code, state=place.state)
    found = by_distance(network, responsible, (place.latitude, place.longitude))[:SHOWN]
    values = {"found_ids": ",".join(c.id for c in found), "found_index": "0", "place_label": place.label}
    return _show(request, directory, vocabulary, values, place)


def more(request: Request, directory: Directory, vocabulary: Vocabulary) -> Result:
    """The next consulate of the last search (MAS / MORE, or "1" on USSD); after the last, the first."""
    ids = [i for i in request.data.get("found_ids", "").split(",") if i]
    if not ids:
        return Result(outcome="ask")
    index = (int(request.data.get("found_index", "0") or 0) + 1) % len(ids)
    place = find_place(request.data.get("place_label", ""))
    return _show(request, directory, vocabulary, {**request.data, "found_index": str(index)}, place)


def _show(request: Request, directory: Directory, vocabulary: Vocabulary, values: dict, place: Place | None) -> Result:
    ids = values["found_ids"].split(",")
    index = int(values["found_index"])
    consulate = directory.by_id(ids[index])
    if consulate is None:
        return Result(outcome="unknown")
    card = card_of(consulate, place, vocabulary.weekdays(request.language), request.language)
    outcome = "found_sms" if request.channel == "sms" else "found_ussd"
    return Result(outcome=outcome, values={**values, "card": card, "position": f"{index + 1}/{len(ids)}"})


def card_of(
    consulate: Consulate, place: Place | None, weekday_names: tuple[str, ...], language: str | None = None
) -> str:
    """Name (in the reader's language where the file has it), address, phone, hours and distance: one SMS
    segment for the longest sample consulate."""
    hours = consulate.hours.describe(weekday_names)
    parts = [name_for(consulate, language), consulate.address, consulate.phone, hours]
    if place is not None:
        km = distance_km(place.latitude, place.longitude, consulate.latitude, consulate.longitude)
        parts.append(f"{km:,.0f} km")
    return ". ".join(parts)


def offer(request: Request, directory: Directory) -> Result:
    """The saved location, offered first when there is one; whose consulates, first, when the person's number
    suggests a nationality not served."""
    if nationality.unasked(request, directory):
        return nationality.ask(then="consulate")
    if request.data.get("place_text"):
        return Result(outcome="typed")  # CONSULADO 77002, held while the nationality was asked
    home = people.location_of(request.person_id)
    return Result(outcome="saved", values={"saved_location": home[0]}) if home else Result(outcome="ask")
