"""Polling: read every sensor on its schedule, filter, track states, feed the sinks."""
