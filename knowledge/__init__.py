"""The fault knowledge base: articles of known faults and their fixes, suggested at intake on
the desk and (when customer-visible) on the returns portal, linked to cases, and the returns
they saved (deflections). Sits beside ``returns/`` and reads it; ``returns/`` never imports it."""
