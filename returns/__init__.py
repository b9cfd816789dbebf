"""Returns: RMAs that ship replacements at once and refund the moment the carrier has the parcel.

Uses inventory (reserve, issue, restock) and carriers (shipments, tracking); neither knows it.
Knows nothing of Flask. The aggregate is :mod:`returns.rma`; the use cases are one module per
stage (intake, authorisation, labels, carrier_events, refunds, refund_outcomes, warehouse,
closing), wired together in :mod:`returns.stages`.
"""
