"""The MkDocs plugin and renderer that build registry pages from the KB."""
