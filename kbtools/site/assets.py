"""Static files kbtools ships into every site besides its pages: the vendored mermaid build."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

MERMAID_VERSION = "11.17.2"
MERMAID_SHA256 = "581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8"
#: Where the mermaid build is published in the site.
MERMAID_URI = "assets/kbtools/mermaid.min.js"


def mermaid_path() -> Path:
    """The vendored ``mermaid.min.js`` (see ``vendor/mermaid/README.md``)."""
    return Path(str(resources.files("kbtools.site") / "vendor" / "mermaid" / "mermaid.min.js"))


def loads_mermaid(scripts: list[str]) -> bool:
    """True if one of the site's ``extra_javascript`` entries already provides mermaid."""
    return any("mermaid" in Path(str(s).split("?", 1)[0]).name.lower() for s in scripts)
