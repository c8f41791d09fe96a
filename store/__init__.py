"""Lifeline store: peewee models and the queries handlers need."""
