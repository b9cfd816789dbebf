"""Carriers: adapters for each provider's formats, one tracking vocabulary, shipments and events.

Knows nothing of Flask. Inbound webhooks are verified and parsed by an adapter into
:class:`carriers.events.CarrierEvent` values in the normalised vocabulary of
:mod:`carriers.status`; :mod:`carriers.services` stores and applies them.
"""
