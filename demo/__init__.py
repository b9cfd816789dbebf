"""The demo around spareflow: demo data and stand-ins for outside services (sandboxes).

Not part of the product: nothing in core/, inventory/, returns/, carriers/ or web/ imports it
when loaded. Only the CLI's ``demo``, ``demo-data`` and ``sandbox`` commands import it, when
they run. Its extra dependency (aiosmtpd) comes with ``pip install 'spareflow[demo]'``, which
``make demo`` and ``make install`` do.
"""
