"""Fake RPi package: only ``RPi.GPIO``, backed by tests/fakes/fakehw.py."""
