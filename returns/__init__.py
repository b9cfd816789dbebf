"""Returns: RMAs that ship replacements at once and refund the moment the carrier has the parcel.

Uses inventory (reserve, issue, restock) and carriers (shipments, tracking); neither knows it.
Knows nothing of Flask. Use cases live in :mod:`returns.services`.
"""
