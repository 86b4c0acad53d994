"""The report: one self-contained HTML page with charts, and one panel's evidence files."""
