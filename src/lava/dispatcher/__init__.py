"""Runs one job on one device: `lava-run`. Imports only lava.common, never Django."""
