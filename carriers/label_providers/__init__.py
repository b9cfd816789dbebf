"""Label providers: real carrier APIs that buy labels and book pickups (carriers/labels.py)."""
