"""The shared kernel: database base and session handling, money, time and errors.

Every domain package may import from here; this package imports none of them.
"""
