"""Build the LaTeX paper corpus: write each paper's .tex, typeset it, write its answers.

    python tests/pdf/corpus/build.py            # needs TeX Live (pdflatex) on PATH

Each paper is typeset with a real class file (IEEEtran, acmart, elsarticle, revtex4-2, llncs,
and article laid out like ACL, EACL, NeurIPS and Cell papers), with our own content from
``content.py``. The PDFs, their .tex sources and ``truth.json`` (title, authors, abstract,
headings, tables, identifiers) are committed, so the tests need no TeX.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from content import MATH_SENTENCES, Paper, Section, Table, metric_table, paragraphs  # noqa: E402

OUT = HERE / "papers"


# -- the body, shared by every class -------------------------------------------------------

FIGURE = r"""\begin{figure}[t]
\centering
\begin{tikzpicture}[font=\small\bfseries, box/.style={draw, minimum width=1.9cm,
  minimum height=0.8cm}]
\node[box] (g) at (0,0) {Gene branch};
\node[box] (f) at (2.5,0) {Fusion};
\node[box] (r) at (5,0) {Readout};
\node (e) at (2.5,1.3) {Encoder};
\draw[->] (g) -- (f); \draw[->] (f) -- (r); \draw[->] (e) -- (f);
\end{tikzpicture}
\caption{%s}
\end{figure}"""


def body(paper: Paper, commands: tuple[str, ...] = ("section", "subsection", "subsubsection"),
         table_caption: str = "") -> str:
    rng = random.Random(paper.seed)
    out = []
    n_table = 0
    for sec in paper.sections:
        cmd = commands[sec.level - 1]
        out.append(rf"\{cmd}{{{sec.title}}}")
        paras = paragraphs(rng, 2 * sec.paragraphs, sec.math)
        for i, text in enumerate(paras):
            out.append(text)
            out.append("")
            if i == 0 and sec.tables:
                for t in sec.tables:
                    n_table += 1
                    out.append(f"Table~\\ref{{tab{n_table}}} lists the scores of every model "
                               "on the held-out sites.")
                    out.append(t.latex(f"tab{n_table}"))
                    out.append("")
            if i == 0 and sec.figure:
                out.append(FIGURE % sec.figure)
                out.append("")
            if i == 0 and sec.math:
                out.append(r"\begin{equation}")
                out.append(r"\hat{y} = \sigma\left(W_g h_g + W_b h_b + b\right), \qquad "
                           r"h_g = f_\theta(x_g)")
                out.append(r"\end{equation}")
    return "\n".join(out)


def bibliography() -> str:
    items = [
        r"\bibitem{a} Q. Adler and R. Baptiste. Sparse encoders for cortical maps. In "
        r"\emph{Workshop on Brain Data}, 2021.",
        r"\bibitem{b} S. Castellano. Long genomic contexts at scale. \emph{Journal of Example "
        r"Studies}, 12:1--9, 2022.",
        r"\bibitem{c} T. Dufresne, U. Eriksen and V. Farah. Harmonising sites without leakage. "
        r"Preprint, 2023.",
    ]
    return "\\begin{thebibliography}{9}\n" + "\n".join(items) + "\n\\end{thebibliography}"


# -- classes ---------------------------------------------------------------------------------

def ieee(p: Paper) -> str:
    a = p.extra["affils"]
    blocks = " \\and\n".join(
        rf"\IEEEauthorblockN{{{name}}}\IEEEauthorblockA{{\textit{{{a[i % len(a)][0]}}}\\"
        rf"{a[i % len(a)][1]}\\ {name.split()[-1].lower()}@example.org}}"
        for i, name in enumerate(p.authors))
    return rf"""\documentclass[conference]{{IEEEtran}}
\IEEEoverridecommandlockouts
\usepackage{{booktabs,amsmath,amssymb,tikz}}
\usepackage[hidelinks,pdftitle={{{p.title}}}]{{hyperref}}
\begin{{document}}
\title{{{p.title}}}
\author{{{blocks}}}
\maketitle
\IEEEpubid{{\makebox[\columnwidth]{{979-8-3503-0000-1/24/\$31.00~\copyright2024 IEEE\hfill}}
\hspace{{\columnsep}}\makebox[\columnwidth]{{ }}}}
\begin{{abstract}}
{p.abstract}
\end{{abstract}}
\begin{{IEEEkeywords}}
imaging genetics, cortical thickness, contrastive learning
\end{{IEEEkeywords}}
{body(p)}
{bibliography()}
\end{{document}}
"""


def acl(p: Paper) -> str:
    cells = []
    for i, name in enumerate(p.authors):
        aff = p.extra["affils"][i % len(p.extra["affils"])]
        cells.append(rf"\begin{{tabular}}[t]{{@{{}}c@{{}}}}\textbf{{{name}}}\\ {aff[0]}\\ "
                     rf"\texttt{{{name.split()[-1].lower()}@example.org}}\end{{tabular}}")
    rows = [" & ".join(cells[i:i + 3]) for i in range(0, len(cells), 3)]
    grid = (r"\begin{tabular}{ccc}" + " \\\\[8pt]\n".join(rows) + r"\end{tabular}")
    return rf"""\documentclass[11pt,a4paper,twocolumn]{{article}}
\usepackage[margin=2.5cm,top=2.5cm,columnsep=0.6cm]{{geometry}}
\usepackage{{times,booktabs,amsmath,amssymb,tikz,fancyhdr,titlesec}}
\usepackage[hidelinks]{{hyperref}}
\titleformat{{\section}}{{\large\bfseries}}{{\thesection}}{{1em}}{{}}
\titleformat{{\subsection}}{{\normalsize\bfseries}}{{\thesubsection}}{{1em}}{{}}
\pagestyle{{fancy}}\fancyhf{{}}\renewcommand{{\headrulewidth}}{{0pt}}
\fancyfoot[C]{{\the\numexpr\value{{page}}+{p.extra["first_page"] - 1}\relax}}
\fancypagestyle{{first}}{{\fancyhf{{}}\fancyfoot[C]{{\footnotesize {p.extra["footer"]}}}}}
\begin{{document}}
\twocolumn[{{\centering
{{\Large\bfseries {p.title}\par}}\vspace{{1.5em}}
{{\small {grid}\par}}\vspace{{2em}}}}]
\thispagestyle{{first}}
\begin{{center}}\textbf{{Abstract}}\end{{center}}
{{\small\leftskip=1.5em\rightskip=1.5em {p.abstract}\par}}
{body(p)}
{bibliography()}
\end{{document}}
"""


def acm(p: Paper) -> str:
    authors = "\n".join(
        rf"\author{{{name}}}\affiliation{{\institution{{{aff[0]}}}\city{{{aff[1]}}}"
        rf"\country{{{aff[2]}}}}}\email{{{name.split()[-1].lower()}@example.org}}"
        for name, aff in ((n, p.extra["affils"][i % len(p.extra["affils"])])
                          for i, n in enumerate(p.authors)))
    return rf"""\documentclass[sigconf]{{acmart}}
\usepackage{{booktabs,tikz}}
\setcopyright{{acmlicensed}}
\copyrightyear{{2024}}
\acmYear{{2024}}
\acmDOI{{{p.doi}}}
\acmConference[CHI '24]{{Proceedings of the CHI Conference on Human Factors in Computing
Systems}}{{May 11--16, 2024}}{{Honolulu, HI, USA}}
\acmBooktitle{{Proceedings of the CHI Conference on Human Factors in Computing Systems (CHI
'24), May 11--16, 2024, Honolulu, HI, USA}}
\acmISBN{{979-8-4007-0330-0/24/05}}
\begin{{document}}
\title{{{p.title}}}
{authors}
\renewcommand{{\shortauthors}}{{{p.authors[0].split()[-1]} et al.}}
\begin{{abstract}}
{p.abstract}
\end{{abstract}}
\keywords{{visual analytics, imaging genetics, clinician study}}
\maketitle
{body(p)}
{bibliography()}
\end{{document}}
"""


def elsarticle(p: Paper) -> str:
    authors = []
    for i, name in enumerate(p.authors):
        marks = ",".join("ab"[j] for j in p.extra["author_affils"][i])
        authors.append(rf"\author[{marks}]{{{name}}}")
    affils = "\n".join(rf"\affiliation[{k}]{{organization={{{o}}},city={{{c}}},country={{{n}}}}}"
                       for k, (o, c, n) in zip("ab", p.extra["affils"], strict=False))
    return rf"""\documentclass[preprint,12pt]{{elsarticle}}
\usepackage{{booktabs,amsmath,amssymb,tikz}}
\usepackage[hidelinks]{{hyperref}}
\journal{{NeuroImage}}
\renewcommand{{\today}}{{October 17, 2019}}
\begin{{document}}
\begin{{frontmatter}}
\title{{{p.title}}}
{chr(10).join(authors)}
{affils}
\begin{{abstract}}
{p.abstract}
\end{{abstract}}
\begin{{keyword}}
imaging genetics \sep normative modelling \sep site harmonisation
\end{{keyword}}
\end{{frontmatter}}
{body(p)}
{bibliography()}
\end{{document}}
"""


def revtex(p: Paper) -> str:
    authors = []
    for i, name in enumerate(p.authors):
        aff = p.extra["affils"][p.extra["author_affils"][i]]
        authors.append(rf"\author{{{name}}}" + "\n" + rf"\affiliation{{{aff}}}")
    return rf"""\documentclass[aps,prl,twocolumn,superscriptaddress,showpacs]{{revtex4-2}}
\usepackage{{booktabs,amsmath,amssymb,tikz,graphicx}}
\usepackage[hidelinks]{{hyperref}}
\begin{{document}}
\title{{{p.title}}}
{chr(10).join(authors)}
\begin{{abstract}}
{p.abstract}
\end{{abstract}}
\maketitle
\makeatletter
\AddToHookNext{{shipout/background}}{{\put(30,-560){{\rotatebox{{90}}{{\sffamily\Large
\textcolor{{gray}}{{arXiv:{p.arxiv}  [q-bio.NC]  {p.extra["stamp_date"]}}}}}}}}}
\makeatother
{body(p)}
{bibliography()}
\end{{document}}
"""


def llncs(p: Paper) -> str:
    names = []
    for i, name in enumerate(p.authors):
        marks = ",".join(str(j + 1) for j in p.extra["author_affils"][i])
        names.append(rf"{name}\inst{{{marks}}}")
    joined = r" \and ".join(names)
    insts = r" \and ".join(rf"{o}, {c}, {n}\\ \email{{lab{k}@example.org}}"
                           for k, (o, c, n) in enumerate(p.extra["affils"]))
    return rf"""\documentclass[runningheads]{{llncs}}
\usepackage{{booktabs,amsmath,amssymb,tikz}}
\usepackage[T1]{{fontenc}}
\usepackage[hidelinks]{{hyperref}}
\begin{{document}}
\title{{{p.title}}}
\titlerunning{{{p.extra["running"]}}}
\author{{{joined}}}
\authorrunning{{{p.extra["running_heads"][1]}}}
\institute{{{insts}}}
\maketitle
\begin{{abstract}}
{p.abstract}
\keywords{{Imaging genetics \and Site effects \and Foundation models}}
\end{{abstract}}
{body(p)}
{bibliography()}
\end{{document}}
"""


def neurips(p: Paper) -> str:
    cells = []
    for i, name in enumerate(p.authors):
        aff = p.extra["affils"][i % len(p.extra["affils"])]
        cells.append(rf"\begin{{tabular}}[t]{{@{{}}c@{{}}}}{name}\textsuperscript{{{i % 2 + 1}}}"
                     rf"\\ {aff[0]}\\ \texttt{{{name.split()[-1].lower()}@example.org}}"
                     r"\end{tabular}")
    rows = [" & ".join(cells[i:i + 3]) for i in range(0, len(cells), 3)]
    grid = (r"\begin{tabular}{ccc}" + " \\\\[6pt]\n".join(rows) + r"\end{tabular}")
    line1, line2 = p.extra["title_lines"]
    return rf"""\documentclass[10pt]{{article}}
\usepackage[letterpaper,margin=1in]{{geometry}}
\usepackage{{times,booktabs,amsmath,amssymb,tikz,fancyhdr,graphicx,xcolor}}
\usepackage[hidelinks,pdftitle={{{p.title}}},pdfauthor={{{", ".join(p.authors)}}}]{{hyperref}}
\pagestyle{{fancy}}\fancyhf{{}}\renewcommand{{\headrulewidth}}{{0pt}}\fancyfoot[C]{{\thepage}}
\fancypagestyle{{first}}{{\fancyhf{{}}\fancyfoot[L]{{\small Preprint. Under review.}}}}
\begin{{document}}
\AddToHookNext{{shipout/background}}{{\put(20,-600){{\rotatebox{{90}}{{\sffamily\Large
\textcolor{{gray}}{{arXiv:{p.arxiv}  [cs.LG]  {p.extra["stamp_date"]}}}}}}}}}
\thispagestyle{{first}}
\begin{{center}}
\rule{{\textwidth}}{{4pt}}\\[10pt]
{{\LARGE\bfseries {line1}\par}}\vspace{{14pt}}
{{\Large\bfseries {line2}\par}}
\rule{{\textwidth}}{{1pt}}\\[16pt]
{grid}
\end{{center}}
\vspace{{1em}}
\begin{{center}}{{\large\bfseries Abstract}}\end{{center}}
{{\leftskip=2.5em\rightskip=2.5em {p.abstract}\par}}
{body(p)}
{bibliography()}
\end{{document}}
"""


def eacl(p: Paper) -> str:
    return acl(p).replace(
        r"{\Large\bfseries " + p.title + r"\par}",
        r"{\Large\bfseries " + p.extra["title_tex"] + r"\par}").replace(
        r"\usepackage{times,", r"\usepackage[letterspace=250]{microtype}" + "\n"
        r"\usepackage[T1]{fontenc}\usepackage{times,")


def cell(p: Paper) -> str:
    names = ", ".join(rf"{n}\textsuperscript{{{','.join(str(j + 1) for j in a)}}}"
                      for n, a in zip(p.authors[:-1], p.extra["author_affils"], strict=False))
    names += rf", and {p.authors[-1]}\textsuperscript{{{p.extra['author_affils'][-1][0] + 1},*}}"
    affils = "\\\\\n".join(rf"\textsuperscript{{{k + 1}}}{a}"
                           for k, a in enumerate(p.extra["affils"]))
    glossary = "\n".join(rf"\item[{t}:] {d}" for t, d in p.extra["glossary"])
    return rf"""\documentclass[10pt,twoside]{{article}}
\usepackage[letterpaper,margin=0.8in,top=1in]{{geometry}}
\usepackage[scaled]{{helvet}}\renewcommand{{\familydefault}}{{\sfdefault}}
\usepackage[T1]{{fontenc}}
\usepackage{{booktabs,amsmath,amssymb,tikz,fancyhdr,xcolor,multicol,tcolorbox}}
\usepackage[hidelinks]{{hyperref}}
\usepackage{{titlesec}}
\titleformat{{\section}}{{\large\bfseries\MakeUppercase}}{{}}{{0em}}{{}}
\titleformat{{\subsection}}{{\normalsize\bfseries}}{{}}{{0em}}{{}}
\setcounter{{secnumdepth}}{{0}}
\pagestyle{{fancy}}\fancyhf{{}}\renewcommand{{\headrulewidth}}{{0.4pt}}
\fancyhead[L]{{\small\bfseries Cell}}\fancyhead[R]{{\small\bfseries Article}}
\fancyfoot[L]{{\small {p.extra["footer_short"]}}}\fancyfoot[R]{{\small\thepage}}
\fancypagestyle{{first}}{{\fancyhf{{}}\fancyhead[L]{{\Large\bfseries Cell}}
\fancyhead[R]{{\bfseries Article}}
\fancyfoot[L]{{\small {p.extra["footer"]}}}\fancyfoot[R]{{\small\thepage}}}}
\setcounter{{page}}{{{p.extra["first_page"]}}}
\begin{{document}}
\thispagestyle{{first}}
{{\huge\bfseries {p.title}\par}}\vspace{{10pt}}
{{\normalsize {names}\par}}\vspace{{6pt}}
{{\footnotesize {affils}\\ *Correspondence: {p.authors[-1].split()[-1].lower()}@example.org\\
https://doi.org/{p.doi}\par}}\vspace{{10pt}}
\begin{{tcolorbox}}[colback=gray!8,colframe=gray!60,boxrule=0.6pt]
{p.abstract}
\end{{tcolorbox}}
\begin{{multicols}}{{2}}
\subsection{{Glossary}}
\begin{{description}}\small
{glossary}
\end{{description}}
{body(p)}
{bibliography()}
\end{{multicols}}
\end{{document}}
"""


BUILDERS = {"ieee": ieee, "acl": acl, "acm": acm, "elsarticle": elsarticle, "revtex": revtex,
            "llncs": llncs, "neurips": neurips, "eacl": eacl, "cell": cell}


# -- the papers ------------------------------------------------------------------------------

def _abstract(rng: random.Random, words: int = 150) -> str:
    from content import SENTENCES

    out: list[str] = []
    pool = list(SENTENCES)
    rng.shuffle(pool)
    while sum(len(s.split()) for s in out) < words:
        out.append(pool.pop())
    return " ".join(out)


def papers() -> list[tuple[str, Paper]]:
    r = random.Random
    t = metric_table
    affils_world = [("University of Northfield", "Northfield", "United Kingdom"),
                    ("Institute for Brain Data", "Lyon", "France"),
                    ("Harbour Medical Center", "Halifax", "Canada")]
    out: list[tuple[str, Paper]] = []

    rng = r(1)
    out.append(("ieee", Paper(
        "ieee_conf", "Contrastive Imaging Genetics Encoders for Cortical Thickness Prediction",
        ["Mira Castellanos", "Tobias Lindqvist", "Anjali Raman", "Felix Oduya"],
        _abstract(rng), [
            Section("Introduction", 1, 3),
            Section("Related Work", 1, 2),
            Section("Method", 1, 1, math=True),
            Section("Gene Branch", 2, 2),
            Section("Imaging Branch", 2, 2, figure="Architecture of the two branches and the "
                    "fusion head."),
            Section("Experiments", 1, 2, tables=[
                t(rng, "Held-out AUPRC and AUROC on three sites.", ["AUPRC", "AUROC"], 5),
                t(rng, "Ablation of the two branches.", ["Site A", "Site B", "Site C"], 4)]),
            Section("Results", 1, 3),
            Section("Conclusion", 1, 1)],
        year=2024, seed=11,
        extra={"affils": [("Dept. of Computing", "University of Northfield, UK"),
                          ("Institute for Brain Data", "Lyon, France")]})))

    rng = r(2)
    out.append(("acl", Paper(
        "acl_long", "Reading Gene Names in Clinical Notes with Small Language Models",
        ["Ilse Vermeulen", "Kwame Mensah", "Sofia Marchetti", "Daniel Achterberg",
         "Yuki Tanabe", "Leonie Brandt"],
        _abstract(rng, 130), [
            Section("Introduction", 1, 3),
            Section("Background", 1, 2),
            Section("Data", 1, 2, tables=[
                Table("Corpus statistics per split.", ["Split", "Notes", "Genes", "Tokens"],
                      [["Train", "8,120", "1,904", "2.1M"], ["Dev", "1,015", "611", "0.26M"],
                       ["Test", "1,020", "598", "0.27M"]])]),
            Section("Models", 1, 2, math=True),
            Section("Results", 1, 2, tables=[
                t(rng, "Entity-level F1 on the test split.", ["Precision", "Recall", "F1"], 6,
                  wide=True)]),
            Section("Error Analysis", 2, 2),
            Section("Limitations", 1, 1),
            Section("Conclusion", 1, 1)],
        year=2024, venue="ACL", seed=12,
        extra={"affils": affils_world, "first_page": 1123,
               "footer": r"Proceedings of the 62nd Annual Meeting of the Association for "
               r"Computational Linguistics (Volume 1: Long Papers), pages 1123--1135\\August "
               r"11--16, 2024 \copyright2024 Association for Computational Linguistics"})))

    rng = r(3)
    out.append(("eacl", Paper(
        "eacl_longeval", "LongEval: Long-Context Evaluation of Genomic Language Models",
        ["Hanna Sorensen", "Marco Bellini", "Priya Natarajan"],
        _abstract(rng, 140), [
            Section("Introduction", 1, 2),
            Section("The LongEval Suite", 1, 2, tables=[
                Table("Tasks in the suite and their context lengths.",
                      ["Task", "Context", "Examples", "Metric"],
                      [["Promoter", "2 kb", "12,000", "AUROC"],
                       ["Enhancer", "8 kb", "9,500", "AUPRC"],
                       ["Splice", "16 kb", "20,000", "Accuracy"],
                       ["Variant effect", "32 kb", "4,100", "Spearman"]])]),
            Section("Models Compared", 2, 2),
            Section("Evaluation Protocol", 2, 1),
            Section("Results", 1, 2, tables=[
                t(rng, "Scores by context length.", ["2 kb", "8 kb", "16 kb", "32 kb"], 5,
                  group=[("", 1), ("Context length", 4)])]),
            Section("Discussion", 1, 2),
            Section("Conclusion", 1, 1)],
        year=2023, venue="EACL", seed=13,
        extra={"affils": affils_world, "first_page": 210,
               "title_tex": r"\textls{\textsc{LongEval}}: Long-Context Evaluation of Genomic "
               r"Language Models",
               "footer": r"Proceedings of the 17th Conference of the European Chapter of the "
               r"Association for Computational Linguistics, pages 210--224\\May 2--6, 2023 "
               r"\copyright2023 Association for Computational Linguistics"})))

    rng = r(4)
    out.append(("acm", Paper(
        "chi_clinicians", "How Clinicians Read Polygenic Risk Dashboards: A Think-Aloud Study",
        ["Amara Okonkwo", "Jonas Weber", "Lucia Fernandez", "Ravi Kulkarni", "Elin Holm",
         "Tomas Novak", "Grace Liang"],
        _abstract(rng, 160), [
            Section("Introduction", 1, 3),
            Section("Related Work", 1, 1),
            Section("Risk Communication", 2, 2),
            Section("Dashboards in Genomics", 2, 2),
            Section("Study Design", 1, 2, tables=[
                Table("Participants by role and experience.", ["Role", "N", "Years", "Sites"],
                      [["Neurologist", "9", "12.4", "3"], ["Psychiatrist", "7", "9.8", "2"],
                       ["Genetic counsellor", "6", "6.1", "2"], ["Nurse", "4", "14.0", "1"]])]),
            Section("Findings", 1, 3, figure="The dashboard as shown to participants."),
            Section("Discussion", 1, 2),
            Section("Design Implications", 2, 1),
            Section("Conclusion", 1, 1)],
        year=2024, venue="CHI", doi="10.1145/3613904.3642077", seed=14,
        extra={"affils": [("University of Northfield", "Northfield", "United Kingdom"),
                          ("Institute for Brain Data", "Lyon", "France"),
                          ("Harbour Medical Center", "Halifax", "Canada")],
               "running_heads": ["CHI \u201924, May 11\u201316, 2024, Honolulu, HI, USA",
                                 "Okonkwo et al.", "How Clinicians Read Polygenic Risk "
                                 "Dashboards: A Think-Aloud Study"]})))

    rng = r(5)
    out.append(("elsarticle", Paper(
        "elsarticle_normative", "Normative Models of Cortical Thickness Across Twelve Sites",
        ["Nadia Petrov", "Oliver Grant", "Chiara Romano", "Henrik Dahl", "Ayesha Siddiqui"],
        _abstract(rng, 180), [
            Section("Introduction", 1, 3),
            Section("Materials and Methods", 1, 1),
            Section("Participants", 2, 2, tables=[
                Table("Demographics of the twelve sites.", ["Site", "N", "Age", "Female"],
                      [["North", "412", "34.1", "52%"], ["East", "388", "41.7", "49%"],
                       ["South", "1,020", "29.5", "55%"], ["West", "265", "63.2", "47%"],
                       ["Central", "731", "50.8", "51%"]])]),
            Section("Harmonisation", 2, 2, math=True),
            Section("Normative Model", 2, 2),
            Section("Results", 1, 3, tables=[
                t(rng, "Calibration of the normative model per site.",
                  ["MSLL", "EV", "Skew"], 4)]),
            Section("Discussion", 1, 3),
            Section("Conclusions", 1, 1)],
        year=2019, venue="NeuroImage", seed=15,
        extra={"affils": [("University of Northfield", "Northfield", "United Kingdom"),
                          ("Institute for Brain Data", "Lyon", "France")],
               "author_affils": [[0], [0, 1], [1], [0], [1]]})))

    rng = r(6)
    out.append(("revtex", Paper(
        "revtex_criticality", "Signatures of Criticality in Resting-State Dynamics of Large "
        "Cohorts", ["Viktor Sandberg", "Elena Moreau", "Kenji Watanabe", "Laura Fischer"],
        _abstract(rng, 120), [
            Section("Introduction", 1, 2),
            Section("Model", 1, 2, math=True),
            Section("Data and Preprocessing", 1, 2, tables=[
                t(rng, "Scaling exponents per cohort.", ["Exponent", "Error", "Fit"], 4)]),
            Section("Results", 1, 3, figure="Avalanche size distribution."),
            Section("Discussion", 1, 2)],
        year=2024, venue="arXiv", arxiv="2403.01234v2", seed=16,
        extra={"affils": ["Department of Physics, University of Northfield, Northfield, "
                          "United Kingdom",
                          "Institute for Brain Data, Lyon, France"],
               "author_affils": [0, 1, 0, 1], "stamp_date": "5 Mar 2024"})))

    rng = r(7)
    out.append(("llncs", Paper(
        "llncs_sites", "Site-Aware Foundation Models for Multi-Centre MRI Segmentation",
        ["Jakob Keller", "Marta Nowak", "Samuel Osei", "Ines Duarte"],
        _abstract(rng, 150), [
            Section("Introduction", 1, 2),
            Section("Method", 1, 1),
            Section("Site Tokens", 2, 2, math=True),
            Section("Training", 2, 1),
            Section("Experiments", 1, 2, tables=[
                t(rng, "Dice scores on unseen sites.", ["Dice", "HD95", "Vol. err."], 5)]),
            Section("Results", 2, 2),
            Section("Conclusion", 1, 1)],
        year=None, seed=17,
        extra={"affils": [("University of Northfield", "Northfield", "United Kingdom"),
                          ("Institute for Brain Data", "Lyon", "France")],
               "author_affils": [[0], [0, 1], [1], [0]], "running": "Site-Aware Foundation "
               "Models", "running_heads": ["Site-Aware Foundation Models", "J. Keller et al."]})))

    rng = r(8)
    out.append(("neurips", Paper(
        "neurips_jepa", "Cortex-JEPA: Brain Dynamics Foundation Model with Gradient "
        "Positioning and Spatiotemporal Masking",
        ["Aiko Morimoto", "Lars Petersen", "Fatima Zahra", "Diego Alvarez", "Nina Kowalski"],
        _abstract(rng, 170), [
            Section("Introduction", 1, 3),
            Section("Related Work", 1, 2),
            Section("Method", 1, 1, math=True),
            Section("Gradient Positioning", 2, 2),
            Section("Spatiotemporal Masking", 2, 2, figure="Masking in space and time."),
            Section("Experiments", 1, 2, tables=[
                t(rng, "Linear probing on four downstream tasks.",
                  ["Age", "Sex", "Fluid IQ", "Diagnosis"], 6, wide=True),
                t(rng, "Effect of the masking ratio.", ["Ratio", "Loss"], 4)]),
            Section("Limitations", 1, 1),
            Section("Conclusion", 1, 1)],
        year=2024, venue="arXiv", arxiv="2406.05432v1", seed=18,
        extra={"affils": [("University of Northfield",), ("Institute for Brain Data",)],
               "title_lines": ("Cortex-JEPA: Brain Dynamics Foundation Model",
                               "with Gradient Positioning and Spatiotemporal Masking"),
               "stamp_date": "8 Jun 2024"})))

    rng = r(9)
    out.append(("cell", Paper(
        "cell_atlas", "A Transcriptomic Atlas of Human Cortical Development Links Genes to "
        "Thickness", ["Beatriz Santos", "Ethan Cole", "Hiroshi Yamada", "Olga Ivanova",
                      "Peter Lund", "Zainab Bello", "Mateo Rossi", "Clara Jensen"],
        _abstract(rng, 150), [
            Section("Introduction", 1, 2),
            Section("Results", 1, 1),
            Section("An Atlas of Expression Across Development", 2, 2),
            Section("Genes Linked to Thickness", 2, 2, tables=[
                Table("Genes with the strongest association.", ["Gene", "Beta", "P value",
                                                               "Cell type"], wide=True, rows=
                      [["GENEA1", "0.21", "3e-9", "Excitatory"],
                       ["GENEB2", "0.17", "8e-8", "Astrocyte"],
                       ["GENEC3", "-0.15", "2e-6", "Oligodendrocyte"],
                       ["GENED4", "0.12", "9e-6", "Inhibitory"]])]),
            Section("Discussion", 1, 3),
            Section("STAR Methods", 1, 2)],
        year=2019, venue="Cell", doi="10.1016/j.cell.2019.09.012", seed=19,
        extra={"affils": ["University of Northfield, Northfield, United Kingdom",
                          "Institute for Brain Data, Lyon, France",
                          "Harbour Medical Center, Halifax, Canada"],
               "author_affils": [[0], [0], [1], [1, 2], [2], [0], [1]],
               "first_page": 512,
               "glossary": [("Polygenic score", "a weighted sum of allele counts that "
                             "summarises the genetic liability of a person"),
                            ("Cortical thickness", "the distance between the white matter "
                             "surface and the pial surface")],
               "footer": r"Cell 179, 512--528, October 17, 2019 \copyright\ 2019 Elsevier "
               r"Inc.", "footer_short": r"Cell 179, 512--528, October 17, 2019",
               "running_heads": ["Cell", "Article", "Cell 179, 512\u2013528, October 17, 2019"]})))
    return out


# -- truth and typesetting -------------------------------------------------------------------

def truth(kind: str, p: Paper) -> dict:
    tables = [tab for s in p.sections for tab in s.tables]
    return {
        "class": kind, "title": p.title, "authors": p.authors,
        "abstract": p.abstract, "year": p.year, "venue": p.venue, "doi": p.doi,
        "arxiv": p.arxiv,
        "headings": [{"text": "Glossary", "level": 2}] * (kind == "cell")
        + [{"text": s.title, "level": s.level} for s in p.sections]
        + [{"text": "References", "level": 1}] * (kind != "revtex"),  # revtex sets none
        "tables": [{"caption": tab.caption, "header": tab.header, "rows": tab.rows}
                   for tab in tables],
        "figures": sum(1 for s in p.sections if s.figure),
        "running": p.extra.get("running_heads", []),
    }


def typeset(name: str, tex: str) -> Path:
    work = OUT / "_build"
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{name}.tex").write_text(tex)
    for _ in range(2):
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "FORCE_SOURCE_DATE": "1"}
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                               f"{name}.tex"], cwd=work, capture_output=True, text=True,
                              env=env)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-3000:])
            raise SystemExit(f"pdflatex failed on {name}")
    return work / f"{name}.pdf"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    only = set(sys.argv[1:])
    answers = json.loads((OUT / "truth.json").read_text()) if (OUT / "truth.json").exists() \
        else {}
    for kind, paper in papers():
        if only and paper.name not in only and kind not in only:
            continue
        tex = BUILDERS[kind](paper)
        pdf = typeset(paper.name, tex)
        (OUT / f"{paper.name}.tex").write_text(tex)
        shutil.copy(pdf, OUT / f"{paper.name}.pdf")
        answers[paper.name] = truth(kind, paper)
        print(f"{paper.name}: {pdf.stat().st_size // 1024} kB")
    (OUT / "truth.json").write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")
    shutil.rmtree(OUT / "_build", ignore_errors=True)
    return 0


if __name__ == "__main__":
    assert MATH_SENTENCES  # imported for the body's maths
    raise SystemExit(main())
