"""Running sensorhub: the command line, the server process, the node, systemd."""
