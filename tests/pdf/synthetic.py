"""Synthetic research-paper PDFs with known answers, for the tests.

``make_paper(spec)`` lays out a paper with PyMuPDF (title block, authors, abstract, numbered
sections in one or two columns, running header, page numbers, a ruled table, a figure with its
caption, a bullet list, ligature glyphs, hyphenated line ends, a rotated arXiv stamp) and
returns the PDF bytes; ``spec`` holds the answers a converter should find.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field

import pymupdf

PAGE_W, PAGE_H = 612.0, 792.0
MARGIN = 54.0
GUTTER = 18.0
BODY_SIZE = 10.0
LEADING = 12.2

#: Words written with a ligature glyph in the PDF, and what the converter must give back.
LIGATURE_WORDS = {
    "\ufb01ndings": "findings",
    "e\ufb03cient": "efficient",
    "\ufb02exible": "flexible",
    "o\ufb00set": "offset",
    "speci\ufb01c": "specific",
}
BACK_MATTER = ("Acknowledgements", "References")
ACKNOWLEDGEMENT = "We thank the synthetic cohort for its patience."
REFERENCES = (
    "[1] A. Quill and B. Okafor. Synthetic cortical encoders. In Example Workshop, 2021.",
    "[2] C. Ferrel. Long genomic contexts at scale. Journal of Examples, 12:1-9, 2022.",
    "[3] D. Vance, E. Moro, and F. Ito. Harmonising sites without leakage. Preprint, 2023.",
)
FIGURE_CAPTION = "Figure 1: Overview of the two encoders and the fusion head."
TABLE_CAPTION = "Table 1: Held-out AUC of the three baselines."
TABLE_ROWS = [["Model", "AUC", "Params"], ["Gene only", "0.61", "12M"],
              ["Brain only", "0.66", "30M"], ["Fusion", "0.71", "42M"]]
#: Long words the line breaker hyphenates when they fall at a line end.
HYPHENATABLE = ("representations", "neuroimaging", "transcriptomic", "generalisation",
                "heterogeneity", "interpretability", "convolutional", "harmonisation")

_SUBJECTS = ("The encoder", "Our model", "The cohort analysis", "This baseline", "The pipeline",
             "Each embedding", "The genetic branch", "The imaging branch", "A linear probe",
             "The fused representation")
_VERBS = ("improves", "captures", "predicts", "aligns", "summarises", "reduces", "explains",
          "stabilises", "separates", "transfers")
_OBJECTS = ("cortical thickness variation", "gene expression signals", "site effects",
            "long genomic contexts", "behavioural outcomes", "resting-state dynamics",
            "polygenic risk", "subject-level variance", "held-out cohorts", "rare variants")
_TAILS = ("across all sites", "with fewer parameters", "under a strict permutation test",
          "when the folds are grouped by site", "at a fraction of the cost",
          "in the held-out fold", "without leaking test data", "for every modality",
          "after residualising the confounds", "with self-supervised pretraining")


@dataclass
class Section:
    number: str
    title: str
    paragraphs: int = 2

    @property
    def heading(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def level(self) -> int:
        return self.number.count(".") + 1


@dataclass
class PaperSpec:
    """A paper to generate and the answers a converter should recover from it."""

    title: str = "Scalable Foundation Models for Brain Imaging Genetics"
    authors: list[str] = field(default_factory=lambda: ["Ada Quill", "Brin Okafor", "Cato Ferrel"])
    affiliation: str = "Institute of Synthetic Neurogenomics, Example University"
    venue_line: str | None = "Published as a conference paper at ICLR 2024"
    year: int | None = 2024
    venue: str | None = "ICLR"
    doi: str | None = "10.5555/synth.2024.0042"
    doi_in: str = "page"  # "page", "xmp", "info" or "none"
    arxiv: str | None = "2401.12345v2"
    arxiv_tail: str = "[cs.LG] 5 Jan 2024"
    info_title: str | None = None
    columns: int = 2
    pages: int = 3
    running_header: str | None = "Synthetic Neurogenomics Preprint"
    header_on_first_page: bool = False  # as ICLR's "Published as a conference paper at ..."
    page_numbers: bool = True
    abstract_sentences: int = 5
    sections: list[Section] = field(default_factory=lambda: [
        Section("1", "Introduction", 3),
        Section("2", "Related Work", 2),
        Section("3", "Methods", 2),
        Section("3.1", "Genetic Encoder", 2),
        Section("3.2", "Imaging Encoder", 2),
        Section("4", "Experiments", 3),
        Section("5", "Conclusion", 2),
    ])
    bullets: list[str] = field(default_factory=lambda: [
        "Sparse attention", "Linear probes", "Site-grouped folds"])
    table: bool = True
    figure: bool = True
    back_matter: bool = True  # unnumbered "Acknowledgements" and "References" at the end
    seed: int = 0

    @property
    def headings(self) -> list[str]:
        back = list(BACK_MATTER) if self.back_matter else []
        return [s.heading for s in self.sections] + back

    @property
    def levels(self) -> list[int]:
        return [s.level for s in self.sections] + [1] * (2 if self.back_matter else 0)


class _Metrics:
    """Advance widths per character, cached (``Font.text_length`` is slow per call)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[int, str], float] = {}

    def __call__(self, font: pymupdf.Font, text: str, size: float) -> float:
        total = 0.0
        for ch in text:
            key = (id(font), ch)
            if key not in self.cache:
                self.cache[key] = font.text_length(ch, 1.0)
            total += self.cache[key]
        return total * size


class _Writer:
    """Places words into column frames, page after page, and records the pages it made."""

    def __init__(self, doc: pymupdf.Document, spec: PaperSpec):
        self.doc = doc
        self.spec = spec
        self.regular = pymupdf.Font("tiro")
        self.bold = pymupdf.Font("tibo")
        self.italic = pymupdf.Font("tiit")
        self.length = _Metrics()
        self.page: pymupdf.Page | None = None
        self.writer: pymupdf.TextWriter | None = None
        self.frames: list[tuple[float, float]] = []
        self.frame = 0
        self.y = 0.0
        self.top = MARGIN + 14

    # -- pages and frames -------------------------------------------------------------------
    def new_page(self, top: float | None = None) -> None:
        self.flush()
        self.page = self.doc.new_page(width=PAGE_W, height=PAGE_H)
        self.writer = pymupdf.TextWriter(self.page.rect)
        number = self.doc.page_count
        if self.spec.running_header and (number > 1 or self.spec.header_on_first_page):
            self.text((MARGIN, MARGIN - 18), self.spec.running_header, self.italic, 8)
        if self.spec.page_numbers:
            self.text((PAGE_W / 2 - 4, PAGE_H - 30), str(number), self.regular, 9)
        width = PAGE_W - 2 * MARGIN
        if self.spec.columns == 2:
            col = (width - GUTTER) / 2
            self.frames = [(MARGIN, col), (MARGIN + col + GUTTER, col)]
        else:
            self.frames = [(MARGIN, width)]
        self.frame = 0
        self.top = self.top if top is None else top
        self.y = self.top if top is None else top

    def next_frame(self) -> None:
        if self.frame + 1 < len(self.frames):
            self.frame += 1
            self.y = self.top
        else:
            self.top = MARGIN + 14
            self.new_page()

    def room(self, height: float) -> None:
        if self.y + height > PAGE_H - MARGIN - 10:
            self.next_frame()

    def flush(self) -> None:
        if self.page is not None and self.writer is not None:
            self.writer.write_text(self.page)
            self.writer = None

    def text(self, pos: tuple[float, float], s: str, font: pymupdf.Font, size: float) -> None:
        assert self.writer is not None
        self.writer.append(pos, s, font=font, fontsize=size)

    # -- content ----------------------------------------------------------------------------
    def line(self, s: str, font: pymupdf.Font, size: float, x: float | None = None) -> None:
        self.room(size * 1.25)
        left, _ = self.frames[self.frame]
        self.y += size * 1.22
        self.text((left if x is None else x, self.y), s, font, size)

    def paragraph(self, words: list[str], font: pymupdf.Font | None = None,
                  size: float = BODY_SIZE, indent: str = "") -> None:
        font = font or self.regular
        _, width = self.frames[self.frame]
        line = indent
        i = 0
        while i < len(words):
            word = words[i]
            candidate = f"{line} {word}" if line.strip() else f"{line}{word}"
            if self.length(font, candidate, size) <= width:
                line = candidate
                i += 1
                continue
            if word.strip(".,") in HYPHENATABLE and line.strip():
                cut = len(word) // 2
                head = f"{line} {word[:cut]}-"
                if self.length(font, head, size) <= width:
                    self._emit(head, font, size)
                    words[i] = word[cut:]
                    line = ""
                    continue
            self._emit(line, font, size)
            line = "  " if indent else ""
        if line.strip():
            self._emit(line, font, size)
        self.y += 4

    def _emit(self, s: str, font: pymupdf.Font, size: float) -> None:
        self.room(LEADING)
        left, _ = self.frames[self.frame]
        self.y += LEADING
        self.text((left, self.y), s, font, size)

    def block_space(self, height: float) -> tuple[float, float, float]:
        """Reserve ``height`` points in the current frame; return (x, y, width)."""
        self.room(height + 6)
        left, width = self.frames[self.frame]
        y = self.y + 6
        self.y = y + height
        return left, y, width


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS), rng.choice(_TAILS)]
    if rng.random() < 0.35:
        words.insert(3, f"using {rng.choice(HYPHENATABLE)}")
    if rng.random() < 0.3:
        words.insert(3, f"and gives {rng.choice(list(LIGATURE_WORDS))} results")
    return " ".join(words) + "."


def _words(rng: random.Random, sentences: int) -> list[str]:
    return " ".join(_sentence(rng) for _ in range(sentences)).split()


def make_paper(spec: PaperSpec) -> bytes:
    """Lay out the paper described by ``spec`` and return the PDF bytes."""
    rng = random.Random(spec.seed)
    doc = pymupdf.open()
    w = _Writer(doc, spec)
    w.frames = []
    w.new_page(top=MARGIN)
    # title block spans the page
    w.frames = [(MARGIN, PAGE_W - 2 * MARGIN)]
    title_font = 17.0
    words = spec.title.split()
    lines, cur = [], ""
    for word in words:
        cand = f"{cur} {word}".strip()
        if w.length(w.bold, cand, title_font) > PAGE_W - 2 * MARGIN - 40 and cur:
            lines.append(cur)
            cur = word
        else:
            cur = cand
    lines.append(cur)
    for s in lines:
        w.line(s, w.bold, title_font)
    w.y += 8
    author_y = w.y + 14
    x = MARGIN
    for i, name in enumerate(spec.authors):
        sep = ", " if i < len(spec.authors) - 1 else ""
        w.text((x, author_y), name, w.regular, 11)
        x += w.length(w.regular, name, 11)
        w.text((x, author_y - 4), str(1 + i % 2), w.regular, 7)
        x += w.length(w.regular, str(1 + i % 2), 7)
        if sep:
            w.text((x, author_y), sep, w.regular, 11)
            x += w.length(w.regular, sep, 11)
    w.y = author_y
    w.line(f"1 {spec.affiliation}", w.italic, 9)
    w.line("2 Department of Imaging Data, Example Institute of Technology", w.italic, 9)
    if spec.venue_line:
        w.line(spec.venue_line, w.regular, 9)
    if spec.doi and spec.doi_in == "page":
        w.line(f"https://doi.org/{spec.doi}", w.regular, 9)
    w.y += 10
    start_y = w.y
    # body frames start under the title block
    width = PAGE_W - 2 * MARGIN
    if spec.columns == 2:
        col = (width - GUTTER) / 2
        w.frames = [(MARGIN, col), (MARGIN + col + GUTTER, col)]
    else:
        w.frames = [(MARGIN, width)]
    w.top = start_y
    w.y = start_y
    w.line("Abstract", w.bold, 11)
    w.paragraph(_words(rng, spec.abstract_sentences))
    placed_table = placed_figure = placed_bullets = False
    for k, section in enumerate(spec.sections):
        size = 12.0 if section.level == 1 else 10.5
        w.room(40)
        w.y += 6
        w.line(section.heading, w.bold, size)
        for p in range(section.paragraphs):
            w.paragraph(_words(rng, 4 + (p + k) % 3))
        if not placed_bullets and spec.bullets and k == 0:
            for item in spec.bullets:
                w.line(f"\u2022 {item}", w.bold, BODY_SIZE)
            w.y += 4
            placed_bullets = True
        if not placed_figure and spec.figure and k == 1:
            _figure(w)
            placed_figure = True
        if not placed_table and spec.table and k == 3:
            _table(w)
            placed_table = True
    # pad with discussion text until the page count is reached
    while doc.page_count < spec.pages:
        w.paragraph(_words(rng, 6))
    if spec.back_matter:
        w.room(60)
        w.y += 6
        w.line(BACK_MATTER[0], w.bold, 12.0)
        w.paragraph(ACKNOWLEDGEMENT.split(" "))
        w.y += 6
        w.line(BACK_MATTER[1], w.bold, 12.0)
        for ref in REFERENCES:
            w.paragraph(ref.split(" "), size=9)
    w.flush()
    if spec.arxiv:
        page = doc[0]
        page.insert_text((24, 560), f"arXiv:{spec.arxiv}  {spec.arxiv_tail}",
                         fontname="tiro", fontsize=14, rotate=90, color=(0.5, 0.5, 0.5))
    meta = {"producer": "synthetic-paper", "creator": "kbtools tests",
            "creationDate": "D:20991231000000Z"}
    if spec.info_title is not None:
        meta["title"] = spec.info_title
    if spec.doi and spec.doi_in == "info":
        meta["subject"] = f"doi:{spec.doi}"
    doc.set_metadata(meta)
    if spec.doi and spec.doi_in == "xmp":
        doc.set_xml_metadata(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">'
            f"<prism:doi>{spec.doi}</prism:doi></rdf:Description></rdf:RDF></x:xmpmeta>")
    data = doc.tobytes(garbage=1, deflate=True)
    doc.close()
    return data


def _figure(w: _Writer) -> None:
    x, y, width = w.block_space(90)
    assert w.page is not None
    w.page.draw_rect(pymupdf.Rect(x + 10, y, x + width - 10, y + 70), color=(0.3, 0.3, 0.6),
                     fill=(0.85, 0.88, 0.95))
    w.text((x + 20, y + 20), "Figure 1", w.bold, 11)  # a label inside the art
    w.y = y + 72
    w.paragraph(FIGURE_CAPTION.split(" "), size=9)


def _table(w: _Writer) -> None:
    rows = TABLE_ROWS
    w.room(18 * len(rows) + 40)  # keep the caption with its table
    w.paragraph(TABLE_CAPTION.split(" "), size=9)
    x, y, width = w.block_space(18 * len(rows))
    assert w.page is not None
    colw = (width - 20) / 3
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            rect = pymupdf.Rect(x + 10 + c * colw, y + r * 18, x + 10 + (c + 1) * colw,
                                y + (r + 1) * 18)
            w.page.draw_rect(rect, color=(0, 0, 0), width=0.6)
            w.text((rect.x0 + 4, rect.y1 - 5), cell, w.bold if r == 0 else w.regular, 9)
    w.y += 6


def random_spec(seed: int, pages: int = 10, columns: int | None = None) -> PaperSpec:
    """A varied paper spec (title, sections, columns, metadata placement) for benchmarks."""
    rng = random.Random(seed)
    topics = ("Genomic", "Cortical", "Multimodal", "Contrastive", "Sparse", "Hierarchical",
              "Long-Context", "Self-Supervised", "Federated", "Causal")
    nouns = ("Transformers", "Encoders", "Embeddings", "Priors", "Representations", "Models")
    goals = ("for Brain Imaging", "for Gene Expression", "for Cohort Studies",
             "for Behavioural Prediction", "for Genotype Data", "across Sites")
    title = f"{rng.choice(topics)} {rng.choice(topics)} {rng.choice(nouns)} {rng.choice(goals)}"
    names = ("Introduction", "Background", "Related Work", "Data", "Methods", "Model",
             "Training", "Evaluation", "Results", "Ablations", "Discussion", "Limitations")
    sections: list[Section] = []
    n_top = 5 + pages // 3
    picked = rng.sample(names, k=min(len(names), n_top))
    for i, name in enumerate(picked, start=1):
        sections.append(Section(str(i), name, 2 + pages // 4))
        if rng.random() < 0.5:
            sections.append(Section(f"{i}.1", f"{rng.choice(topics)} {rng.choice(nouns)}",
                                    1 + pages // 5))
    year = rng.choice((2021, 2022, 2023, 2024, 2025))
    yymm = f"{year % 100:02d}{rng.randint(1, 12):02d}"
    venue = rng.choice(("NeurIPS", "ICLR", "ICML", "MICCAI"))
    doi_in = rng.choice(("page", "xmp", "info"))
    return PaperSpec(
        title=title,
        venue_line=f"Published at {venue} {year}",
        year=year,
        venue=venue,
        doi=f"10.5555/bench.{seed:04d}",
        doi_in=doi_in,
        arxiv=f"{yymm}.{rng.randint(10000, 99999)}v{rng.randint(1, 3)}",
        arxiv_tail=f"[q-bio.NC] {rng.randint(1, 28)} Mar {year}",
        info_title=rng.choice((None, title.split()[0].lower().capitalize(), title)),
        columns=columns or rng.choice((1, 2)),
        pages=pages,
        sections=sections,
        seed=seed,
    )


# -- other kinds of PDF ---------------------------------------------------------------------

SUMMARY_SECTIONS = ("Summary", "Key contributions", "Methods", "Relevance to the KB",
                    "Limitations")


def make_summary_pdf(title: str = "BrainLM summary", seed: int = 0) -> bytes:
    """A KB summary rendered from markdown-like HTML (numbered sections, an outline)."""
    rng = random.Random(seed)
    html = [f"<h1>{title}</h1>"]
    for i, name in enumerate(SUMMARY_SECTIONS, start=1):
        html.append(f"<h2>{i}. {name}</h2>")
        if name == "Key contributions":
            html.append("<ul>" + "".join(f"<li>{_sentence(rng)}</li>" for _ in range(3))
                        + "</ul>")
        else:
            html.append(f"<p>{' '.join(_sentence(rng) for _ in range(4))}</p>")
    story = pymupdf.Story("".join(html), user_css="body {font-family: serif; font-size: 10pt;}")
    sink = io.BytesIO()
    writer = pymupdf.DocumentWriter(sink)
    page_rect = pymupdf.paper_rect("letter")
    more = True
    while more:
        device = writer.begin_page(page_rect)
        more, _ = story.place(page_rect + (54, 54, -54, -54))
        story.draw(device)
        writer.end_page()
    writer.close()
    doc = pymupdf.open("pdf", sink.getvalue())
    toc = [[1, title, 1]] + [[2, f"{i}. {n}", 1] for i, n in enumerate(SUMMARY_SECTIONS, 1)]
    doc.set_toc(toc)
    doc.set_metadata({"title": title, "producer": "pandoc 3.1 via weasyprint",
                      "creator": "pandoc"})
    data = doc.tobytes(garbage=1, deflate=True)
    doc.close()
    return data


def make_image_only_pdf(pages: int = 2) -> bytes:
    """Pages holding only a picture (as a scan without OCR would)."""
    doc = pymupdf.open()
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 64, 64), False)
    pix.clear_with(200)
    for i in range(pages):
        page = doc.new_page(width=PAGE_W, height=PAGE_H)
        page.insert_image(pymupdf.Rect(72, 72, 540, 720), pixmap=pix)
        if i == 0:  # scanners often stamp a line of text; it is not a text layer
            page.insert_text((72, 760), "Scanned 2024-01-05", fontname="helv", fontsize=6)
    data = doc.tobytes()
    doc.close()
    return data


def make_encrypted_pdf(password: str = "secret") -> bytes:
    """A paper that needs a password to open."""
    doc = pymupdf.open("pdf", make_paper(PaperSpec(pages=1, sections=[Section("1", "Intro")])))
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password,
                       owner_pw=password + "-owner")
    doc.close()
    return data


def make_zero_page_pdf() -> bytes:
    """A syntactically valid PDF whose page tree is empty."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_slow_pdf(depth: int = 7, fan: int = 16) -> bytes:
    """A 2 kB PDF that keeps any text extractor busy for a very long time, in little memory.

    Its page draws a form XObject that draws the one below it ``fan`` times, ``depth`` levels
    deep, down to a small path: MuPDF interprets ``fan ** depth`` leaves (16**7 = 268 million,
    hours of work) while nothing is stored. This is the shape of a file that makes a
    converter hang; tests use it to check that the batch time limit fires.
    """
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_W, height=PAGE_H)
    page.insert_text((MARGIN, MARGIN + 20), "A page whose drawing is a deep tree of forms.",
                     fontsize=11)

    def form(content: bytes, child: int | None) -> int:
        xref = doc.get_new_xref()
        res = f"<< /XObject << /F {child} 0 R >> >>" if child else "<< >>"
        doc.update_object(xref, f"<< /Type /XObject /Subtype /Form /BBox [0 0 100 100] "
                                f"/Resources {res} >>")
        doc.update_stream(xref, content)
        return xref

    node = form(b"0 0 m 1 1 l 2 0 l h f " * 20, None)
    for _ in range(depth):
        node = form(b"/F Do " * fan, node)
    _, res = doc.xref_get_key(page.xref, "Resources")
    doc.xref_set_key(int(res.split()[0]), "XObject", f"<< /Slow {node} 0 R >>")
    contents = page.get_contents()[0]
    doc.update_stream(contents, doc.xref_stream(contents) + b"\nq /Slow Do Q\n")
    data = doc.tobytes()
    doc.close()
    return data


def make_blank_pdf(pages: int = 1) -> bytes:
    """Pages with nothing on them (no text, no images)."""
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=PAGE_W, height=PAGE_H)
    data = doc.tobytes()
    doc.close()
    return data


def make_plain_pdf(pages: list[list[str]]) -> bytes:
    """A PDF written object by object in page order (catalog, page tree, then each page and
    its text), with lines of Helvetica text. Cut short, it keeps its first pages whole, as a
    download broken off half-way does."""
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {n} >>"]
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "14 TL", f"{MARGIN:.0f} {PAGE_H - MARGIN:.0f} Td"]
        for line in lines:
            safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops += [f"({safe}) Tj", "T*"]
        stream = "\n".join(ops + ["ET"]).encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W:.0f} {PAGE_H:.0f}] "
                       f"/Contents {4 + 2 * i} 0 R /Resources << /Font << /F1 << /Type /Font "
                       "/Subtype /Type1 /BaseFont /Helvetica >> >> >> >>")
        objects.append((stream, len(stream)))  # type: ignore[arg-type]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for num, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        if isinstance(obj, tuple):
            data, length = obj
            out += f"{num} 0 obj\n<< /Length {length} >>\nstream\n".encode() + data
            out += b"\nendstream\nendobj\n"
        else:
            out += f"{num} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    return bytes(out)
