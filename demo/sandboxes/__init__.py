"""Stand-ins for outside services (a carrier, a payment provider) that run as real HTTP servers.

They are for the demo and the end-to-end tests: spareflow talks to them exactly as it talks to
the real providers, over HTTP, with signatures and idempotency keys.
"""
