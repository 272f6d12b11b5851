"""PDF to markdown summaries and draft paper cards (PyMuPDF)."""
