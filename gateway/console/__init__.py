"""The officials' web console (to come): it reads and acts through handlers and the store, never through
carrier code."""
