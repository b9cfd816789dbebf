"""Label providers (carriers/labels.py's ``LabelProvider``), one module each; see registry.py."""
