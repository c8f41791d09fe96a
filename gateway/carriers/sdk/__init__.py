"""The carriers' SDK clients: SMS out. A package of its own, so finding the carriers (registry.py) does
not import them: a server taking webhooks only, or sending through the console, never loads an SDK."""
