"""Loopback emulators and a simulated Enphase site with a known truth, for tests and the demo."""
