"""Configuration: config.yaml -> frozen dataclasses, with file:line errors."""

from sensorhub.config.checker import ConfigError, Problem
from sensorhub.config.loader import load_config, parse_config
from sensorhub.config.model import Config, RoomConfig, SensorConfig, ServerConfig, StorageConfig

__all__ = ["Config", "ConfigError", "Problem", "RoomConfig", "SensorConfig", "ServerConfig",
           "StorageConfig", "load_config", "parse_config"]
