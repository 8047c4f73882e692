"""The web side: Flask routes, Socket.IO events, the broadcaster, security."""
