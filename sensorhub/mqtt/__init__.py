"""MQTT: sensor nodes publish, the hub takes pushed readings in, Home Assistant discovery."""
