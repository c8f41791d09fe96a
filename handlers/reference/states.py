"""US states and territories by USPS code, and the other names people use for them."""

from __future__ import annotations

STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
    "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "DC": "District of Columbia", "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
}  # fmt: skip
# Spanish names people use (accents are dropped before the look-up, so "Hawái" is "hawai"), and a few
# English variants. Names that are the same in both languages (Texas, Florida, Arizona...) need no entry.
OTHER_NAMES = {
    "tejas": "TX", "nuevo mexico": "NM", "carolina del norte": "NC", "carolina del sur": "SC",
    "nueva jersey": "NJ", "nueva york": "NY", "nuevo hampshire": "NH", "nueva hampshire": "NH",
    "luisiana": "LA", "pensilvania": "PA", "misisipi": "MS", "misisipí": "MS", "misuri": "MO",
    "virginia occidental": "WV", "dakota del norte": "ND", "dakota del sur": "SD", "hawai": "HI",
    "tenesi": "TN", "minesota": "MN", "kentuky": "KY", "distrito de columbia": "DC", "isla de rodas": "RI",
    "washington state": "WA", "estado de washington": "WA", "islas virgenes": "VI", "virgin islands": "VI",
}  # fmt: skip
