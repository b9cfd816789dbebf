"""Sales orders: what customers bought, so returns can be checked against it (issue #17).

Fed by ``POST /api/v1/orders``, a workbook import and Shopify's order webhooks; read by the
returns desk and the customer's returns portal. Imports nothing from returns/ or web/.
"""
