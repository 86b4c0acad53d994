"""Internals of the per-panel Enphase tracker: one module per concern.

The top-level scripts (``run_inverter_daily_stats.py``, ``populate_google_sheet.py``,
``enlightenAPI_v4.py``, ``panel_report.py``) are thin: they parse arguments, call into this
package, print results and turn exceptions into exit codes.
"""

__version__ = "1.0.0"
