"""The offline map: state outlines coloured by the consulate responsible for them, the consulates, and open
alerts gathered by area (about 50 km) so that no dot points at a person; a dot links to the alerts behind it.
Drawn by the server as SVG from data Lifeline ships: no tile server, no script, no other host."""

from __future__ import annotations

from collections import defaultdict
from html import escape

from aiohttp import web

from gateway.console.access import consulates_in_scope
from gateway.console.geo import HEIGHT, WIDTH, albers_usa, state_paths
from gateway.console.pages import official_of, render, requires, run, state
from handlers.backoffice import desk
from handlers.reference.places import find_place
from handlers.reference.states import STATES

# Twelve colours that stay apart on a screen and in print; consulates take them in turn.
PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#d9d9d9",
           "#bc80bd", "#ccebc5", "#ffed6f")  # fmt: skip
AREA_DEGREES = 0.5  # alerts are gathered on this grid (about 50 km) before they are drawn


@requires("desk")
async def map_page(request: web.Request) -> web.StreamResponse:
    official = official_of(request)
    directory = state(request).directory
    networks = {n.network: n for n in directory.networks}
    network = networks.get(request.query.get("network", "").upper()) or directory.networks[0]
    scope = consulates_in_scope(official)
    open_alerts = await run(request, desk.open_alerts, scope)
    svg = draw(network, open_alerts, directory)
    return await render(request, "map.html", {"svg": svg, "network": network.network, "networks": sorted(networks)})


def draw(network, open_alerts, directory) -> str:
    """The whole map as one SVG element."""
    names = {name: code for code, name in STATES.items()}
    colour_of, owner_of = {}, {}
    for n, consulate in enumerate(network.consulates):
        colour_of[consulate.id] = PALETTE[n % len(PALETTE)]
        for code in consulate.jurisdiction.states:
            owner_of.setdefault(code, consulate)
    parts = [f'<svg id="map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="map" class="map">']
    for name, path in state_paths().items():
        owner = owner_of.get(names.get(name, ""))
        fill = colour_of[owner.id] if owner else "#f4f4f4"
        label = f"{name}: {owner.short_name}" if owner else name
        parts.append(
            f'<path d="{path}" fill="{fill}" stroke="#fff" stroke-width="0.7"><title>{escape(label)}</title></path>'
        )
    for consulate in network.consulates:
        point = albers_usa(consulate.longitude, consulate.latitude)
        if point:
            x, y = point
            parts.append(
                f'<rect class="consulate" x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="#12355b">'
                f"<title>{escape(consulate.short_name)}</title></rect>"
            )
    for (x, y), references in gather(open_alerts, directory).items():
        radius = 5 + 3 * len(references) ** 0.5
        link = "/console/?refs=" + ",".join(sorted(references))
        parts.append(
            f'<a href="{escape(link)}"><circle class="alerts" cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" '
            f'fill="#c0392b" fill-opacity="0.8"><title>{len(references)}</title></circle></a>'
        )
    parts.append("</svg>")
    return "".join(parts)


def gather(open_alerts, directory) -> dict[tuple[float, float], list[str]]:
    """Open alerts by area: where the person said they were, else their consulate; on a coarse grid."""
    areas: dict[tuple[float, float], list[str]] = defaultdict(list)
    for alert in open_alerts:
        place = find_place(alert.location) if alert.location else None
        if place is not None:
            lat, lon = place.latitude, place.longitude
        else:
            office = directory.by_id(alert.consulate)
            if office is None:
                continue  # a central's alert with no place: on no map
            lat, lon = office.latitude, office.longitude
        snapped = (round(lat / AREA_DEGREES) * AREA_DEGREES, round(lon / AREA_DEGREES) * AREA_DEGREES)
        point = albers_usa(snapped[1], snapped[0])
        if point:
            areas[point].append(alert.reference)
    return areas
