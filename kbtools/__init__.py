"""kbtools: a code-first knowledge base for neurogenomics research."""

__version__ = "0.1.0"
