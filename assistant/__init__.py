"""Offline voice assistant that controls IKEA-style lights over MQTT."""

__version__ = "0.1.0"
