"""Builders shared by the tests and the benches: one copy of each, typed."""
