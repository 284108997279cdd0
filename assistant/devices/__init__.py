"""Devices: the IKEA capability catalog, the registry of this home, and intent -> DeviceCommand."""
