"""Fake hardware modules for tests.

``tests/fakes`` itself goes on ``sys.path`` (the ``fake_hardware`` fixture in
``fixtures.py`` does it for one test; integration tests set ``PYTHONPATH``), so that
``import adafruit_dht``, ``import board`` and ``import RPi.GPIO`` find the fakes.
"""
