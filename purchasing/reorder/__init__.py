"""Reorder points and suggestions.

- :mod:`~purchasing.reorder.formulas`: the arithmetic (demand statistics, safety stock,
  reorder point and quantity), no database;
- :mod:`~purchasing.reorder.suggestions`: one part's stock position against its point, and why;
- :mod:`~purchasing.reorder.queries`: stock positions, suggestion pages, demand history;
- :mod:`~purchasing.reorder.recompute`: the nightly recompute of points from demand;
- :mod:`~purchasing.reorder.policies`: a part's reorder policy, read and changed.
"""
