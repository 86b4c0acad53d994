"""The panels' data where people already look: SQLite (Datasette, Grafana) and CSV files.

The JSON history stays the data of record; everything here is derived from it and can be
rebuilt from it at any time.
"""
