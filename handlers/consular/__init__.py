"""Consular services: find the responsible consulate, book and manage appointments."""
