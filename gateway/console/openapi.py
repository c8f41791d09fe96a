"""The OpenAPI 3.0 document of /api/v1/, written by hand next to the code it describes (and checked against
it by tests/test_api.py with schemathesis)."""

from __future__ import annotations

_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": "string", "nullable": True}
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": _TEXT}, "additionalProperties": False}


def _errors(*statuses: int) -> dict:
    reasons = {
        400: "bad request",
        401: "no valid token",
        403: "not allowed for this account",
        404: "not found",
        405: "method not allowed",
        429: "rate limited (see Retry-After)",
    }
    return {
        str(status): {
            "description": reasons[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def _ok(schema_ref: str) -> dict:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}}


_ALERT = {
    "type": "object",
    "required": ["reference", "status", "consulate", "created_at"],
    "properties": {
        "reference": _TEXT,
        "status": {"type": "string", "enum": ["open", "closed", "cancelled"]},
        "consulate": _TEXT,
        "created_at": {"type": "string", "format": "date-time"},
        "acknowledged_at": {**_NULLABLE_TEXT, "format": "date-time"},
        "escalated_at": {**_NULLABLE_TEXT, "format": "date-time"},
        "closed_at": {**_NULLABLE_TEXT, "format": "date-time"},
        "cancelled_at": {**_NULLABLE_TEXT, "format": "date-time"},
        "under_duress": {"type": "boolean"},
        "person_phone_masked": _NULLABLE_TEXT,
    },
}
_EVENT = {
    "type": "object",
    "required": ["at", "kind"],
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "kind": {
            "type": "string",
            "enum": [
                "raised",
                "relay",
                "acknowledged",
                "escalated",
                "duress",
                "pin_tries",
                "duress_earlier",
                "cancelled",
                "closed",
                "note",
            ],
        },
        "role": _NULLABLE_TEXT,
        "to_masked": _NULLABLE_TEXT,
        "provider": _NULLABLE_TEXT,
        "status": _NULLABLE_TEXT,
        "reports": {"type": "array", "items": _TEXT},
    },
}
_BEARER = [{"bearer": []}]
_REFERENCE = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 8}}


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Lifeline officials' API",
            "version": "1.0.0",
            "description": "Alerts, bookings, duty roster and consulates, scoped to the token's account.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": _BEARER,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "Alert": _ALERT,
                "AlertPage": {
                    "type": "object",
                    "required": ["items", "next_cursor"],
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                        "next_cursor": _NULLABLE_TEXT,
                    },
                },
                "AlertDetail": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Alert"},
                        {
                            "type": "object",
                            "required": ["office", "timeline"],
                            "properties": {"office": _TEXT, "timeline": {"type": "array", "items": _EVENT}},
                        },
                    ]
                },
                "ActionResult": {
                    "type": "object",
                    "required": ["reference", "outcome"],
                    "properties": {
                        "reference": _TEXT,
                        "outcome": {"type": "string", "enum": ["done", "unchanged", "empty"]},
                    },
                },
                "Bookings": {
                    "type": "object",
                    "required": ["consulate", "date", "items"],
                    "properties": {
                        "consulate": _TEXT,
                        "date": {"type": "string", "format": "date"},
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["reference", "time", "service", "status"],
                                "properties": {"reference": _TEXT, "time": _TEXT, "service": _TEXT, "status": _TEXT},
                            },
                        },
                    },
                },
                "Roster": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "consulate", "phone_masked", "since", "until"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "consulate": _TEXT,
                                    "phone_masked": _TEXT,
                                    "since": _TEXT,
                                    "until": _TEXT,
                                },
                            },
                        }
                    },
                },
                "Consulates": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "name", "network"],
                                "properties": {
                                    "id": _TEXT,
                                    "name": _TEXT,
                                    "network": _TEXT,
                                    "city": _TEXT,
                                    "state": _TEXT,
                                    "latitude": {"type": "number"},
                                    "longitude": {"type": "number"},
                                },
                            },
                        }
                    },
                },
            },
        },
        "paths": {
            "/alerts": {
                "get": {
                    "summary": "Alerts in the account's scope, newest first",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["open", "closed", "cancelled"]},
                        },
                        {"name": "consulate", "in": "query", "schema": {"type": "string", "maxLength": 64}},
                        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 40}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    ],
                    "responses": {**_ok("#/components/schemas/AlertPage"), **_errors(400, 401, 403, 429)},
                }
            },
            "/alerts/{reference}": {
                "get": {
                    "summary": "One alert with its timeline (numbers masked; the read is audited)",
                    "parameters": [_REFERENCE],
                    "responses": {**_ok("#/components/schemas/AlertDetail"), **_errors(401, 403, 404, 429)},
                }
            },
            "/alerts/{reference}/{verb}": {
                "post": {
                    "summary": "Acknowledge, reply to the person (SMS), note or close, as the token's account",
                    "parameters": [
                        _REFERENCE,
                        {
                            "name": "verb",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": ["ack", "reply", "note", "close"]},
                        },
                    ],
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"text": {"type": "string", "maxLength": 300}},
                                }
                            }
                        },
                    },
                    "responses": {**_ok("#/components/schemas/ActionResult"), **_errors(400, 401, 403, 404, 429)},
                }
            },
            "/bookings": {
                "get": {
                    "summary": "A consulate's bookings of a day",
                    "parameters": [
                        {
                            "name": "consulate",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "maxLength": 64},
                        },
                        {
                            "name": "date",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "format": "date"},
                        },
                    ],
                    "responses": {**_ok("#/components/schemas/Bookings"), **_errors(400, 401, 403, 429)},
                }
            },
            "/roster": {
                "get": {
                    "summary": "Current and future duty shifts in scope",
                    "responses": {**_ok("#/components/schemas/Roster"), **_errors(401, 403, 429)},
                }
            },
            "/consulates": {
                "get": {
                    "summary": "The consulates of the deployment",
                    "responses": {**_ok("#/components/schemas/Consulates"), **_errors(401, 403, 429)},
                }
            },
        },
    }
