"""Sending what the outbox holds: the dispatcher, its retry policy, provider health and the senders."""
