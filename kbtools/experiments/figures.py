"""Run figures a person can read on the site: one size rule for every method's plots.

A run page shows its figures one per row at their natural size (never scaled up), in a content
column about 940 px wide at a 1280 px window. So a figure is drawn at most
:data:`MAX_WIDTH_IN` inches wide at :data:`DPI` (880 px: it is never scaled down there) and
no text in it is smaller than :data:`MIN_FONT_PT` (12 px at that resolution). :func:`save`
enforces both for any figure (fonts below the minimum are raised, a wider figure is narrowed
and re-laid out) and writes the smallest text size into the PNG (:data:`SMALLEST_TEXT_KEY`),
so the site's browser test can check what a reader sees: that size times the displayed width
over the drawn width.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Resolution of the saved PNGs (pixels per inch).
DPI = 110
#: Widest figure, in inches (880 px at :data:`DPI`).
MAX_WIDTH_IN = 8.0
#: Smallest text, in points (about 12 px at :data:`DPI`).
MIN_FONT_PT = 8.0
#: PNG text chunk holding the smallest text of the figure, in pixels of the PNG.
SMALLEST_TEXT_KEY = "kbtools:smallest-text-px"


def new_figure(width: float = 6.0, height: float = 4.5) -> Any:
    """A matplotlib Figure without pyplot (no global state, thread-safe), at most
    :data:`MAX_WIDTH_IN` wide, with text no smaller than :data:`MIN_FONT_PT` by default."""
    from matplotlib.figure import Figure

    return Figure(figsize=(min(width, MAX_WIDTH_IN), height), dpi=DPI, layout="constrained")


def texts(fig: Any) -> list[Any]:
    """Every visible text of ``fig`` that shows something (titles, labels, ticks, legends)."""
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def smallest_text_px(fig: Any, dpi: float = DPI) -> float | None:
    """The smallest font size in ``fig``, in pixels of a PNG saved at ``dpi``."""
    sizes = [t.get_fontsize() for t in texts(fig)]
    return min(sizes) * dpi / 72 if sizes else None


def clipped_texts(fig: Any) -> list[str]:
    """Texts of ``fig`` that reach outside the figure once drawn (a title too long for it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    box = fig.bbox
    # tick labels outside an axis' view are kept but never drawn: constrained layout places
    # the drawn ones, so only titles, axis labels, legends and notes are checked
    ticks = {id(label) for ax in fig.axes for label in
             [*ax.get_xticklabels(which="both"), *ax.get_yticklabels(which="both")]}
    out = []
    for text in [t for t in texts(fig) if id(t) not in ticks]:
        extent = text.get_window_extent(renderer)
        if extent.x0 < box.x0 - 1 or extent.x1 > box.x1 + 1 or extent.y0 < box.y0 - 1 \
                or extent.y1 > box.y1 + 1:
            out.append(text.get_text())
    return out


def make_readable(fig: Any) -> None:
    """Raise every text below :data:`MIN_FONT_PT` to it and narrow a figure wider than
    :data:`MAX_WIDTH_IN` (keeping its height), whatever the plotting code asked for."""
    for text in texts(fig):
        if text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
    width, height = fig.get_size_inches()
    if width > MAX_WIDTH_IN:
        fig.set_size_inches(MAX_WIDTH_IN, height)


def save(fig: Any, target: Path) -> None:
    """Save ``fig`` as a readable PNG at :data:`DPI`, its smallest text size recorded."""
    make_readable(fig)
    smallest = smallest_text_px(fig)
    metadata = {SMALLEST_TEXT_KEY: f"{smallest:.3f}"} if smallest else {}
    fig.savefig(target, dpi=DPI, metadata=metadata)


def smallest_text_of(png: Path) -> float | None:
    """The smallest text a PNG written by :func:`save` holds, in its own pixels."""
    from PIL import Image

    with Image.open(png) as image:
        value = image.info.get(SMALLEST_TEXT_KEY) or getattr(image, "text", {}).get(
            SMALLEST_TEXT_KEY)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
