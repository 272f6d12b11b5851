"""Which Markdown extensions the page templates need, and which of them ``mkdocs.yml`` lacks.

The templates in use (a site's overrides first, then the shipped ones) are scanned for the
syntax each extension provides: ``!!!`` blocks need ``admonition``, ``???`` blocks need
``pymdownx.details``, a ``mermaid`` fence needs ``pymdownx.superfences`` with a ``mermaid``
custom fence, and a code fence indented inside a block needs ``pymdownx.superfences``. A site
that lacks one gets one message naming its ``mkdocs.yml`` and the exact lines to add.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

#: Extensions that MkDocs enables on every site.
BUILTIN = frozenset({"toc", "tables", "fenced_code"})


@dataclass(frozen=True)
class Requirement:
    """One extension the pages need: the syntax that needs it and the mkdocs.yml lines."""

    extension: str
    used_for: str
    yaml: str
    pattern: re.Pattern[str]


MERMAID_FENCE_YAML = """\
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format"""

MERMAID_ENTRY_YAML = """\
  (pymdownx.superfences is enabled: add this entry to its custom_fences list)
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format"""

REQUIREMENTS = (
    Requirement("admonition", "warning boxes (`!!!` blocks)", "  - admonition",
                re.compile(r"^[ \t]*!!![ \t]", re.M)),
    Requirement("pymdownx.details", "folded blocks such as the card source (`???` blocks)",
                "  - pymdownx.details", re.compile(r"^[ \t]*\?\?\?\+?[ \t]", re.M)),
    Requirement("pymdownx.superfences", "code blocks inside folded blocks", MERMAID_FENCE_YAML,
                re.compile(r"^[ \t]+(?:`{3,}|~{3,}|\{\{[^}]*\|\s*fence\s*\}\})", re.M)),
    Requirement("pymdownx.superfences+mermaid", "lineage diagrams (`mermaid` fences)",
                MERMAID_FENCE_YAML, re.compile(r"^[ \t]*(?:`{3,}|~{3,})[ \t]*mermaid\b", re.M)),
)


def _short(name: str) -> str:
    """``markdown.extensions.admonition`` -> ``admonition``; third-party names unchanged."""
    return name.removeprefix("markdown.extensions.")


def needed(sources: Iterable[str]) -> list[Requirement]:
    """The requirements whose syntax appears in any of the template ``sources``."""
    texts = list(sources)
    return [r for r in REQUIREMENTS if any(r.pattern.search(t) for t in texts)]


def has_mermaid_fence(mdx_configs: Mapping[str, Any]) -> bool:
    fences = (mdx_configs.get("pymdownx.superfences") or {}).get("custom_fences") or []
    return any(isinstance(f, Mapping) and f.get("name") == "mermaid"
               and "mermaid" in str(f.get("class", "")).split() for f in fences)


def missing(requirements: Iterable[Requirement], extensions: Iterable[str],
            mdx_configs: Mapping[str, Any]) -> list[Requirement]:
    """The requirements the configured ``extensions`` (names as in mkdocs.yml) do not meet."""
    enabled = {_short(str(e)) for e in extensions} | BUILTIN
    out: list[Requirement] = []
    for req in requirements:
        if req.extension == "pymdownx.superfences+mermaid":
            if "pymdownx.superfences" in enabled and not has_mermaid_fence(mdx_configs):
                out.append(replace(req, yaml=MERMAID_ENTRY_YAML))
            elif "pymdownx.superfences" not in enabled:
                out.append(req)
        elif req.extension not in enabled:
            out.append(req)
    return out


def message(gaps: list[Requirement], config_file: str) -> str:
    """One message: what shows as plain text, and the lines to add to ``config_file``."""
    names = sorted({g.extension.split("+")[0] for g in gaps})
    uses = "; ".join(f"{g.extension.replace('+', ' with a ')} for {g.used_for}" for g in gaps)
    lines = list(dict.fromkeys(g.yaml for g in gaps))
    return (f"the generated pages use Markdown extensions that {config_file} does not "
            f"enable ({', '.join(names)}): {uses}. Without them these blocks show as plain "
            f"text. Add under `markdown_extensions:` in {config_file}:\n" + "\n".join(lines))
