"""Label providers: one module per provider (EasyPost, Shippo, SF Express, the sandbox), each
keeping the ``LabelProvider`` contract of ``carriers/labels.py``: buy a label at most once,
find it again after a crash, refund it unused, and (where the provider can) book a pickup."""
