"""Server-rendered pages (Jinja) for people at a desk or a scanner."""
