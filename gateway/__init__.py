"""Lifeline gateway: the aiohttp service, carrier webhooks, outbound senders and the outbox."""
