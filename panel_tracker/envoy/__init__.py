"""The gateway on the home network (Envoy / IQ Gateway) as a source of readings, via pyenphase.

``reader`` wraps pyenphase's async API in one synchronous call; ``settings_keys`` parses the
config keys of this source. Adapters here get plain values; the app layer builds them.
"""
