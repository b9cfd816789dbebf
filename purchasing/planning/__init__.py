"""Spare-parts planning for lumpy demand: classification, forecasts, order-up-to levels for a
target fill rate, and the backtest that judges them. Pure Python on plain monthly series (no
database, no Flask); see docs/planning.md."""
