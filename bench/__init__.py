"""Benchmarks of sensorhub against a bare Flask-SocketIO app (docs/performance.md)."""
