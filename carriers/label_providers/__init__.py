"""Label providers: buy labels and book pickups (the contract is carriers/labels.py)."""
