"""A virtual Zigbee2MQTT bridge: pure device core (devices.py), bridge logic (bridge.py), MQTT runner (runner.py)."""
