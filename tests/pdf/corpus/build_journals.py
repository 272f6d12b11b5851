"""Build the journal-style papers of the corpus: BMC, Hindawi, PeerJ, a psychiatry journal, AAAI.

    python tests/pdf/corpus/build_journals.py      # needs TeX Live (pdflatex) on PATH

Each paper is typeset by pdflatex from a hand-written .tex laid out like the journal's own
articles (our own content, invented people): run-in bold headings (BMC), two columns with
full-width floats (Hindawi, AAAI), landscape table pages (page rotation 90, pdflscape) and a
sideways table (rotated text on an upright page), long reference lists, footnote marks in
titles and author lists, venue lines like "International Psychogeriatrics (2014)", booktabs
tables with wrapped cells, spanning headers and 13 columns, and plots with legends (which are
figures, not tables).

The answers are written here by hand, apart from the .tex: headings, venue, year, and every
table's cells as read off the rendered page (``TABLES``; the cell text of the two big
generated tables comes from the same seeded numbers as their .tex). They are merged into
``papers/truth.json``; the PDFs and .tex sources are committed, so the tests need no TeX.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build import typeset  # noqa: E402
from content import SENTENCES, paragraphs  # noqa: E402

OUT = HERE / "papers"

SURNAMES = ["Adler", "Baptiste", "Castellano", "Dufresne", "Eriksen", "Farah", "Gallo",
            "Haddad", "Ishikawa", "Jovanovic", "Kowalczyk", "Lindgren", "Moreau", "Nakamura",
            "Okafor", "Pereira", "Quist", "Rahman", "Sato", "Takahashi", "Ueda", "Valdez",
            "Wojcik", "Xu", "Yilmaz", "Zeller"]
TOPICS = ["cortical thickness in adolescents", "polygenic scores and brain structure",
          "site harmonisation of diffusion imaging", "normative models of brain ageing",
          "resting-state connectivity in late-life depression",
          "genetic correlations between psychiatric disorders", "white matter and cognition",
          "gene expression atlases of the cortex", "head motion in paediatric imaging",
          "deep learning for brain age prediction"]
JOURNALS = ["Journal of Example Studies", "NeuroImage Reports", "Brain Data Letters",
            "Psychiatric Methods", "Annals of Imaging Genetics"]


def references(seed: int, n: int, style: str) -> list[str]:
    """``n`` invented references, as LaTeX items, in a numbered or author-year style."""
    rng = random.Random(seed)
    out = []
    openers = ["A study of", "Revisiting", "Large-scale analysis of", "Effects of",
               "Reliability of"]
    tails = ["", " across sites", " in two independent cohorts", " over a decade of follow-up"]
    for _ in range(n):
        names = rng.sample(SURNAMES, k=rng.randint(1, 4))
        authors = ", ".join(f"{s} {chr(65 + rng.randrange(20))}" for s in names)
        topic = rng.choice(TOPICS)
        year = rng.randint(1998, 2019)
        journal = rng.choice(JOURNALS)
        vol, first = rng.randint(3, 220), rng.randint(1, 900)
        title = f"{rng.choice(openers)} {topic}{rng.choice(tails)}"
        if style == "vancouver":
            last = first + rng.randint(5, 30)
            out.append(f"{authors}. {title}. {journal}. {year};{vol}:{first}--{last}.")
        else:
            out.append(f"{authors} ({year}). {title}. \\emph{{{journal}}}, {vol}, "
                       f"{first}--{first + rng.randint(5, 30)}.")
    return out


def hanging_references(seed: int, n: int, size: str, hang: str) -> str:
    """A "References" section of author-year entries set with a hanging indent."""
    refs = references(seed, n, "apa")
    return (r"\section{References}" + "\n{" + size + r"\setlength\parindent{-" + hang + "}"
            + r"\setlength\leftskip{" + hang + "}" + "\n\n".join(refs) + r"\par}")


def prose(rng: random.Random, n: int) -> str:
    return "\n\n".join(paragraphs(rng, n))


# -- BMC ------------------------------------------------------------------------------------

def region_rows(seed: int, n: int) -> list[list[str]]:
    """The 13-column landscape table: region, then mean and SD of four groups at two sites."""
    rng = random.Random(seed)
    lobes = ["frontal", "temporal", "parietal", "occipital", "cingulate", "insular"]
    parts = ["superior", "middle", "inferior", "medial", "lateral", "anterior", "posterior"]
    seen: set[str] = set()
    rows = []
    while len(rows) < n:
        name = f"{rng.choice(['Left', 'Right'])} {rng.choice(parts)} {rng.choice(lobes)}"
        if name in seen:
            continue
        seen.add(name)
        cells = [name]
        for _ in range(6):
            cells += [f"{rng.uniform(2.1, 3.2):.2f}", f"{rng.uniform(0.08, 0.25):.2f}"]
        rows.append(cells)
    return rows


BMC_REGIONS = region_rows(41, 52)


def bmc() -> tuple[str, dict]:
    rng = random.Random(101)
    head = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=2cm,top=2.4cm,headheight=14pt]{geometry}
\usepackage[T1]{fontenc}\usepackage{mathptmx}\usepackage[scaled=0.92]{helvet}
\usepackage{booktabs,array,longtable,pdflscape,fancyhdr,xcolor,titlesec}
\usepackage[labelsep=space,labelfont=bf,font=small,justification=raggedright,
  singlelinecheck=false]{caption}
\usepackage[hidelinks]{hyperref}
\titleformat{\section}{\sffamily\bfseries\large}{}{0em}{}
\titlespacing*{\section}{0pt}{2.2ex}{1ex}
\titleformat{\subsection}[runin]{\sffamily\bfseries}{}{0em}{}
\titlespacing*{\subsection}{0pt}{1.2ex}{0.8em}
\setcounter{secnumdepth}{0}
\pagestyle{fancy}\fancyhf{}\renewcommand{\headrulewidth}{0pt}
\fancyhead[L]{\sffamily\footnotesize Vermeulen et al. \textit{BMC Psychiatry} (2019) 19:214}
\fancyhead[R]{\sffamily\footnotesize Page \thepage\ of \pageref{LastPage}}
\fancypagestyle{first}{\fancyhf{}}
\makeatletter\AtEndDocument{\label{LastPage}}\makeatother
\begin{document}
\thispagestyle{first}
\noindent{\sffamily\footnotesize Vermeulen et al. \textit{BMC Psychiatry} (2019) 19:214\\
https://doi.org/10.1186/s12888-019-2187-4}\hfill
\fcolorbox{black}{white}{\sffamily\footnotesize\bfseries Open Access}\par\vspace{14pt}
\noindent{\sffamily\small\bfseries\color{gray} RESEARCH ARTICLE}\par\vspace{6pt}
\noindent{\sffamily\LARGE\bfseries Cortical thickness and symptom load in first-episode
psychosis: a two-site study\par}\vspace{10pt}
\noindent{\sffamily Ilse Vermeulen\textsuperscript{1,2*}, Kwame Mensah\textsuperscript{2},
Sofia Marchetti\textsuperscript{1} and Daniel Achterberg\textsuperscript{1\dag}\par}
\vspace{8pt}
{\sffamily\small
\noindent\textbf{Abstract}\par\vspace{3pt}
\noindent\textbf{Background:} Structural imaging studies of first-episode psychosis disagree
on how strongly cortical thinning tracks symptom load, partly because single-site samples are
small and scanners differ between studies.\par
\noindent\textbf{Methods:} We scanned 800 participants at two sites with matched protocols,
harmonised regional thickness estimates and related them to symptom scores with mixed models
that include site as a random effect.\par
\noindent\textbf{Results:} Thinner cortex in temporal and frontal regions went with higher
symptom scores at both sites, with effects of similar size once site differences were
removed.\par
\noindent\textbf{Conclusions:} The association between thinning and symptom load replicates
across sites when acquisition and analysis are harmonised.\par
\vspace{3pt}\noindent\textbf{Keywords:} Psychosis, Cortical thickness, Multi-site imaging,
Harmonisation\par}
\vspace{6pt}\noindent\rule{\textwidth}{0.4pt}
\let\thefootnote\relax\footnotetext{*Correspondence: vermeulen@example.org\\
\textsuperscript{1}Department of Psychiatry, University of Northfield, Northfield, UK\\
Full list of author information is available at the end of the article}
"""
    t1 = r"""
\begin{table}[t]
\caption{Characteristics of the participants at the two sites}
\small
\begin{tabular}{@{}p{4.6cm}rrrr@{}}
\toprule
 & \multicolumn{2}{c}{Northfield (n = 412)} & \multicolumn{2}{c}{Lyon (n = 388)}\\
\cmidrule(lr){2-3}\cmidrule(l){4-5}
Characteristic & Mean & SD & Mean & SD\\
\midrule
Age at scan (years) & 34.1 & 9.8 & 41.7 & 11.2\\
Years of education completed before enrolment & 14.2 & 2.9 & 13.1 & 3.4\\
Symptom severity score at the baseline interview & 21.5 & 6.7 & 24.0 & 7.1\\
Head motion (mm) & 0.18 & 0.07 & 0.21 & 0.09\\
Whole-brain mean cortical thickness (mm) & 2.51 & 0.12 & 2.47 & 0.14\\
\bottomrule
\end{tabular}
\end{table}
"""
    t3 = r"""
\begin{table}[t]
\caption{Associations between regional thickness and symptom scores}
\small
\begin{tabular}{@{}llrrr@{}}
\toprule
Region & Model & $\beta$ & 95\% CI & \textit{p}\\
\midrule
Superior temporal & Unadjusted & $-0.21$ & $-0.30$ to $-0.12$ & $<0.001$\\
Superior temporal & Adjusted & $-0.17$ & $-0.26$ to $-0.08$ & 0.002\\
Middle frontal & Unadjusted & $-0.12$ & $-0.21$ to $-0.03$ & 0.010\\
Middle frontal & Adjusted & $-0.09$ & $-0.18$ to 0.00 & 0.061\\
Insula & Unadjusted & $-0.14$ & $-0.24$ to $-0.04$ & 0.006\\
Insula & Adjusted & $-0.11$ & $-0.21$ to $-0.01$ & 0.031\\
\bottomrule
\end{tabular}\\[2pt]
{\footnotesize Adjusted models include age, sex and head motion; site is a random effect.
\textit{CI} confidence interval}
\end{table}
"""
    rows_tex = "\n".join(" & ".join(r) + r"\\" for r in BMC_REGIONS)
    group = " & ".join(rf"\multicolumn{{2}}{{c}}{{{g}}}" for g in
                       ["Controls, N", "Patients, N", "Controls, L", "Patients, L",
                        "Relatives, N", "Relatives, L"])
    rules = "".join(rf"\cmidrule(lr){{{2 + 2 * i}-{3 + 2 * i}}}" for i in range(6))
    sub = " & ".join(["Mean & SD"] * 6)
    t2 = rf"""
\begin{{landscape}}
\small\setlength{{\tabcolsep}}{{5pt}}
\begin{{longtable}}{{@{{}}l*{{12}}{{r}}@{{}}}}
\caption{{Regional cortical thickness (mm) by group and site
(N Northfield, L Lyon)}}\\
\toprule
 & {group}\\
{rules}
Region & {sub}\\
\midrule
\endfirsthead
\multicolumn{{13}}{{@{{}}l}}{{\textbf{{Table 2}} (continued)}}\\
\toprule
 & {group}\\
{rules}
Region & {sub}\\
\midrule
\endhead
\bottomrule
\endlastfoot
{rows_tex}
\end{{longtable}}
\end{{landscape}}
"""
    runin = r"\subsection{%s}"
    body = "\n".join([
        r"\section{Background}", prose(rng, 3),
        r"\section{Methods}",
        runin % "Participants", prose(rng, 1), "", runin % "Image acquisition", prose(rng, 1),
        "", runin % "Statistical analysis", prose(rng, 2),
        r"\section{Results}", runin % "Sample characteristics", prose(rng, 1), t1,
        "Table 1 summarises the two samples.", "", prose(rng, 1), t2,
        runin % "Associations with symptom scores", prose(rng, 2), t3,
        r"\section{Discussion}", prose(rng, 3),
        runin % "Strengths and limitations", prose(rng, 1),
        r"\section{Conclusions}", prose(rng, 1),
        r"\section{Abbreviations}", "CI: confidence interval; SD: standard deviation",
        r"\section{Acknowledgements}", "We thank the participants and the staff at both sites.",
        r"\section{Authors' contributions}", "IV and KM designed the study; SM analysed the "
        "data; DA wrote the first draft. All authors read and approved the final manuscript.",
        r"\section{Funding}", "The study was funded by an example research council.",
        r"\section{Availability of data and materials}", "Aggregate results are available from "
        "the corresponding author; participant-level data cannot be shared.",
        r"\section{Competing interests}", "The authors declare that they have no competing "
        "interests.",
    ])
    refs = references(7, 42, "vancouver")
    bib = (r"\section{References}" + "\n" + r"{\small\begin{enumerate}\setlength\itemsep{0pt}"
           + "\n".join(r"\item " + r for r in refs) + r"\end{enumerate}}")
    tex = head + body + "\n" + bib + "\n\\end{document}\n"
    heads = [("Background", 1), ("Methods", 1), ("Participants", 2), ("Image acquisition", 2),
             ("Statistical analysis", 2), ("Results", 1), ("Sample characteristics", 2),
             ("Associations with symptom scores", 2), ("Discussion", 1),
             ("Strengths and limitations", 2), ("Conclusions", 1), ("Abbreviations", 1),
             ("Acknowledgements", 1), ("Authors' contributions", 1), ("Funding", 1),
             ("Availability of data and materials", 1), ("Competing interests", 1),
             ("References", 1)]
    truth = {
        "class": "bmc",
        "title": "Cortical thickness and symptom load in first-episode psychosis: a two-site "
                 "study",
        "authors": ["Ilse Vermeulen", "Kwame Mensah", "Sofia Marchetti", "Daniel Achterberg"],
        "abstract": "Background: Structural imaging studies of first-episode psychosis "
                    "disagree on how strongly cortical thinning tracks symptom load, partly "
                    "because single-site samples are small and scanners differ between "
                    "studies. Methods: We scanned 800 participants at two sites with matched "
                    "protocols, harmonised regional thickness estimates and related them to "
                    "symptom scores with mixed models that include site as a random effect. "
                    "Results: Thinner cortex in temporal and frontal regions went with higher "
                    "symptom scores at both sites, with effects of similar size once site "
                    "differences were removed. Conclusions: The association between thinning "
                    "and symptom load replicates across sites when acquisition and analysis "
                    "are harmonised.",
        "year": 2019, "venue": "BMC Psychiatry", "doi": "10.1186/s12888-019-2187-4",
        "arxiv": None, "headings": [{"text": t, "level": lv} for t, lv in heads],
        "tables": [
            {"caption": "Characteristics of the participants at the two sites",
             "header": ["Characteristic", "Northfield (n = 412) Mean", "Northfield (n = 412) SD",
                        "Lyon (n = 388) Mean", "Lyon (n = 388) SD"],
             "rows": [["Age at scan (years)", "34.1", "9.8", "41.7", "11.2"],
                      ["Years of education completed before enrolment", "14.2", "2.9", "13.1",
                       "3.4"],
                      ["Symptom severity score at the baseline interview", "21.5", "6.7",
                       "24.0", "7.1"],
                      ["Head motion (mm)", "0.18", "0.07", "0.21", "0.09"],
                      ["Whole-brain mean cortical thickness (mm)", "2.51", "0.12", "2.47",
                       "0.14"]]},
            {"caption": "Regional cortical thickness (mm) by group and site",
             "header": ["Region"] + [f"{g} {s}" for g in
                                     ["Controls, N", "Patients, N", "Controls, L",
                                      "Patients, L", "Relatives, N", "Relatives, L"]
                                     for s in ("Mean", "SD")],
             "rows": BMC_REGIONS},
            {"caption": "Associations between regional thickness and symptom scores",
             "header": ["Region", "Model", "β", "95% CI", "p"],
             "rows": [["Superior temporal", "Unadjusted", "−0.21", "−0.30 to −0.12", "< 0.001"],
                      ["Superior temporal", "Adjusted", "−0.17", "−0.26 to −0.08", "0.002"],
                      ["Middle frontal", "Unadjusted", "−0.12", "−0.21 to −0.03", "0.010"],
                      ["Middle frontal", "Adjusted", "−0.09", "−0.18 to 0.00", "0.061"],
                      ["Insula", "Unadjusted", "−0.14", "−0.24 to −0.04", "0.006"],
                      ["Insula", "Adjusted", "−0.11", "−0.21 to −0.01", "0.031"]]},
        ],
        "figures": 0, "running": ["Vermeulen et al. BMC Psychiatry (2019) 19:214"],
        "rotated_pages": True,
    }
    return tex, truth


# -- Hindawi --------------------------------------------------------------------------------

PLOT = r"""
\begin{tikzpicture}
\begin{axis}[width=%s, height=5.2cm, xlabel={Age (years)}, ylabel={Thickness (mm)},
  legend pos=north east, legend cell align=left, grid=major, xmin=10, xmax=80]
\addplot[mark=*, blue] coordinates {(10,3.02) (20,2.91) (30,2.80) (40,2.71)
  (50,2.62) (60,2.55) (70,2.47) (80,2.40)};
\addlegendentry{Controls}
\addplot[mark=square*, red] coordinates {(10,2.95) (20,2.82) (30,2.70) (40,2.60)
  (50,2.50) (60,2.41) (70,2.33) (80,2.26)};
\addlegendentry{Patients}
\addplot[mark=triangle*, black] coordinates {(10,3.00) (20,2.88) (30,2.77) (40,2.67)
  (50,2.58) (60,2.50) (70,2.42) (80,2.35)};
\addlegendentry{Siblings}
\end{axis}
\end{tikzpicture}"""

BARS = r"""
\begin{tikzpicture}
\begin{axis}[ybar, width=\columnwidth, height=4.8cm, symbolic x coords={North,East,South,West},
  xtick=data, ylabel={AUROC}, ymin=0.5, ymax=0.9, legend style={at={(0.5,1.02)},
  anchor=south, legend columns=2}, bar width=7pt]
\addplot coordinates {(North,0.71) (East,0.68) (South,0.74) (West,0.66)};
\addplot coordinates {(North,0.78) (East,0.75) (South,0.80) (West,0.72)};
\legend{Ridge baseline, Fusion model}
\end{axis}
\end{tikzpicture}"""


def hindawi() -> tuple[str, dict]:
    rng = random.Random(202)
    head = r"""\documentclass[9pt,twocolumn]{extarticle}
\usepackage[letterpaper,margin=1.8cm,top=2.2cm,columnsep=0.7cm]{geometry}
\usepackage[T1]{fontenc}\usepackage{mathptmx}\usepackage[scaled=0.92]{helvet}
\usepackage{booktabs,array,rotating,fancyhdr,xcolor,titlesec,pgfplots}
\pgfplotsset{compat=1.17}
\usepackage[labelsep=colon,font=small]{caption}
\usepackage[hidelinks]{hyperref}
\renewcommand{\thesection}{\arabic{section}.}
\renewcommand{\thesubsection}{\arabic{section}.\arabic{subsection}.}
\titleformat{\section}{\sffamily\bfseries\normalsize}{\thesection}{0.5em}{}
\titleformat{\subsection}{\sffamily\bfseries\small}{\thesubsection}{0.5em}{}
\pagestyle{fancy}\fancyhf{}\renewcommand{\headrulewidth}{0pt}
\fancyhead[L]{\sffamily\footnotesize\thepage}\fancyhead[R]{\sffamily\footnotesize Neural
Plasticity}
\fancypagestyle{first}{\fancyhf{}}
\begin{document}
\twocolumn[{%
\noindent{\sffamily\bfseries\large Hindawi}\\
{\sffamily\small Neural Plasticity\\ Volume 2019, Article ID 4829103, 11 pages\\
https://doi.org/10.1155/2019/4829103}\par\vspace{12pt}
\noindent{\sffamily\large\color{gray} Research Article}\par\vspace{6pt}
\noindent{\sffamily\LARGE\bfseries Plasticity of Cortical Thickness after Cognitive Training
in Older Adults\par}\vspace{10pt}
\noindent{\sffamily Beatriz Santos,\textsuperscript{1} Ethan Cole\textsuperscript{\,2} and
Hiroshi Yamada\textsuperscript{\,1,3}\par}\vspace{6pt}
{\sffamily\footnotesize\noindent\textsuperscript{1}Institute for Brain Data, Lyon, France\\
\textsuperscript{2}University of Northfield, Northfield, UK\\
\textsuperscript{3}Harbour Medical Center, Halifax, Canada\par\vspace{4pt}
\noindent Correspondence should be addressed to Beatriz Santos; santos@example.org\par
\vspace{4pt}\noindent Received 3 March 2019; Accepted 14 May 2019; Published 2 June 2019\par
\vspace{4pt}\noindent Academic Editor: Peter Lund\par\vspace{4pt}
\noindent Copyright \copyright\ 2019 Beatriz Santos et al. This is an open access article
distributed under the Creative Commons Attribution License.\par}\vspace{10pt}
{\small\noindent ABSTRACTTEXT\par}\vspace{14pt}}]
\thispagestyle{first}
"""
    abstract = ("Cognitive training is thought to slow the thinning of the cortex in later "
                "life, but most trials have been small and scanned at one site only. We "
                "followed 240 older adults through twelve weeks of training or an active "
                "control condition and measured cortical thickness before and after. "
                "Thickness in the prefrontal cortex declined less in the training group, and "
                "the difference was largest in participants with lower baseline scores.")
    head = head.replace("ABSTRACTTEXT", abstract)
    t1 = r"""
\begin{table}[t]
\caption{Demographics of the two groups at baseline.}
\small\centering
\begin{tabular}{@{}lrr@{}}
\toprule
Variable & Training & Control\\
\midrule
Participants & 121 & 119\\
Age (years) & 71.4 & 70.9\\
Women (\%) & 56.2 & 54.6\\
Education (years) & 13.8 & 13.5\\
MMSE score & 28.1 & 28.3\\
\bottomrule
\end{tabular}
\end{table}
"""
    t2 = r"""
\begin{table*}[t]
\caption{Change in regional thickness (\textmu m) by group, region and follow-up visit.}
\small\centering\setlength{\tabcolsep}{3pt}
\begin{tabular}{@{}lrrrrrrrr@{}}
\toprule
Region & Tr. 6 wk & Tr. 12 wk & Tr. 24 wk & Co. 6 wk & Co. 12 wk & Co. 24 wk & Diff. & \textit{p}\\
\midrule
Dorsolateral PFC & 54.99 & 36.42 & 43.44 & 61.20 & 58.77 & 70.05 & 26.61 & 0.004\\
Ventromedial PFC & 12.08 & 15.31 & 19.87 & 18.44 & 22.90 & 31.12 & 11.25 & 0.041\\
Anterior cingulate & 8.45 & 10.02 & 14.66 & 9.12 & 13.48 & 18.30 & 3.64 & 0.380\\
Precuneus & 22.31 & 25.70 & 28.04 & 24.96 & 30.11 & 35.47 & 7.43 & 0.092\\
Superior parietal & 17.50 & 19.83 & 23.12 & 18.01 & 21.76 & 26.90 & 3.78 & 0.310\\
Hippocampus & 30.14 & 33.98 & 39.25 & 35.60 & 41.22 & 49.87 & 10.62 & 0.018\\
\bottomrule
\end{tabular}
\end{table*}
"""
    fig_wide = (r"\begin{figure*}[t]\centering" + PLOT % r"0.8\textwidth"
                + r"\caption{Mean cortical thickness by age in the three groups.}\end{figure*}")
    fig_col = (r"\begin{figure}[h]\centering" + BARS
               + r"\caption{Held-out AUROC per site for the two models.}\end{figure}")
    t3 = r"""
\begin{sidewaystable}
\caption{Adverse events and withdrawals by group and reason.}
\small\centering
\begin{tabular}{@{}lrrrrrr@{}}
\toprule
Reason & Training, n & Training, \% & Control, n & Control, \% & Total, n & Total, \%\\
\midrule
Lost to follow-up & 6 & 5.0 & 8 & 6.7 & 14 & 5.8\\
Withdrew consent & 3 & 2.5 & 4 & 3.4 & 7 & 2.9\\
Illness unrelated to the study & 4 & 3.3 & 3 & 2.5 & 7 & 2.9\\
Moved away from the study area & 2 & 1.7 & 1 & 0.8 & 3 & 1.3\\
Scanner contraindication found later & 1 & 0.8 & 2 & 1.7 & 3 & 1.3\\
\bottomrule
\end{tabular}
\par\vspace{12pt}
\begin{minipage}{0.8\textheight}\small
Withdrawals did not differ between the groups. Participants who withdrew were slightly older
and had lower baseline scores than those who completed the study, so the completers are a
somewhat healthier sample than the one randomised. Sensitivity analyses that imputed missing
follow-up thickness under several assumptions gave the same conclusions as the main analysis.
\end{minipage}
\end{sidewaystable}
"""
    body = "\n".join([
        r"\section{Introduction}", prose(rng, 3),
        r"\section{Materials and Methods}",
        r"\subsection{Participants}", prose(rng, 1), t1, prose(rng, 1),
        r"\subsection{Training Protocol}", prose(rng, 2),
        r"\subsection{Image Analysis}", prose(rng, 2), fig_wide,
        r"\section{Results}", prose(rng, 1), t2, prose(rng, 2), fig_col, prose(rng, 1), t3,
        r"\section{Discussion}", prose(rng, 3),
        r"\section{Conclusions}", prose(rng, 1),
        r"\section*{Data Availability}", "Aggregate data are available on request.",
        r"\section*{Conflicts of Interest}", "The authors declare no conflicts of interest.",
    ])
    refs = references(8, 36, "vancouver")
    bib = (r"\section*{References}" + "\n" + r"{\footnotesize\begin{enumerate}"
           r"\renewcommand{\labelenumi}{[\arabic{enumi}]}\setlength\itemsep{0pt}"
           + "\n".join(r"\item " + r for r in refs) + r"\end{enumerate}}")
    tex = head + body + "\n" + bib + "\n\\end{document}\n"
    heads = [("1. Introduction", 1), ("2. Materials and Methods", 1), ("2.1. Participants", 2),
             ("2.2. Training Protocol", 2), ("2.3. Image Analysis", 2), ("3. Results", 1),
             ("4. Discussion", 1), ("5. Conclusions", 1), ("Data Availability", 1),
             ("Conflicts of Interest", 1), ("References", 1)]
    truth = {
        "class": "hindawi",
        "title": "Plasticity of Cortical Thickness after Cognitive Training in Older Adults",
        "authors": ["Beatriz Santos", "Ethan Cole", "Hiroshi Yamada"],
        "abstract": abstract, "year": 2019, "venue": "Neural Plasticity",
        "doi": "10.1155/2019/4829103", "arxiv": None,
        "headings": [{"text": t, "level": lv} for t, lv in heads],
        "tables": [
            {"caption": "Demographics of the two groups at baseline.",
             "header": ["Variable", "Training", "Control"],
             "rows": [["Participants", "121", "119"], ["Age (years)", "71.4", "70.9"],
                      ["Women (%)", "56.2", "54.6"], ["Education (years)", "13.8", "13.5"],
                      ["MMSE score", "28.1", "28.3"]]},
            {"caption": "Change in regional thickness",
             "header": ["Region", "Tr. 6 wk", "Tr. 12 wk", "Tr. 24 wk", "Co. 6 wk",
                        "Co. 12 wk", "Co. 24 wk", "Diff.", "p"],
             "rows": [["Dorsolateral PFC", "54.99", "36.42", "43.44", "61.20", "58.77",
                       "70.05", "26.61", "0.004"],
                      ["Ventromedial PFC", "12.08", "15.31", "19.87", "18.44", "22.90",
                       "31.12", "11.25", "0.041"],
                      ["Anterior cingulate", "8.45", "10.02", "14.66", "9.12", "13.48",
                       "18.30", "3.64", "0.380"],
                      ["Precuneus", "22.31", "25.70", "28.04", "24.96", "30.11", "35.47",
                       "7.43", "0.092"],
                      ["Superior parietal", "17.50", "19.83", "23.12", "18.01", "21.76",
                       "26.90", "3.78", "0.310"],
                      ["Hippocampus", "30.14", "33.98", "39.25", "35.60", "41.22", "49.87",
                       "10.62", "0.018"]]},
            {"caption": "Adverse events and withdrawals by group and reason.",
             "header": ["Reason", "Training, n", "Training, %", "Control, n", "Control, %",
                        "Total, n", "Total, %"],
             "rows": [["Lost to follow-up", "6", "5.0", "8", "6.7", "14", "5.8"],
                      ["Withdrew consent", "3", "2.5", "4", "3.4", "7", "2.9"],
                      ["Illness unrelated to the study", "4", "3.3", "3", "2.5", "7", "2.9"],
                      ["Moved away from the study area", "2", "1.7", "1", "0.8", "3", "1.3"],
                      ["Scanner contraindication found later", "1", "0.8", "2", "1.7", "3",
                       "1.3"]]},
        ],
        "figures": 2, "running": ["Neural Plasticity"],
    }
    return tex, truth


# -- a psychiatry journal (International Psychogeriatrics-like) -----------------------------

def psych() -> tuple[str, dict]:
    rng = random.Random(303)
    head = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=2.3cm,top=2.4cm]{geometry}
\usepackage[T1]{fontenc}\usepackage{mathptmx}
\usepackage{booktabs,array,fancyhdr,titlesec}
\usepackage[labelsep=period,labelfont=bf,font=small,singlelinecheck=false]{caption}
\usepackage[hidelinks]{hyperref}
\titleformat{\section}{\normalsize\bfseries}{}{0em}{}
\titleformat{\subsection}{\normalsize\itshape}{}{0em}{}
\setcounter{secnumdepth}{0}
\pagestyle{fancy}\fancyhf{}\renewcommand{\headrulewidth}{0pt}
\fancyhead[L]{\footnotesize\thepage}\fancyhead[R]{\footnotesize N. Petrov \textit{et al.}}
\fancypagestyle{first}{\fancyhf{}\fancyfoot[L]{\footnotesize\itshape Correspondence should be
addressed to: Nadia Petrov, Institute for Brain Data, Lyon, France. Email: petrov@example.org.
Received 12 Jun 2013; revision requested 9 Jul 2013; revised version received 30 Aug 2013;
accepted 2 Sep 2013. First published online 18 Oct 2013.}}
\setcounter{page}{401}
\begin{document}
\thispagestyle{first}
\noindent{\footnotesize \textit{International Psychogeriatrics} (2014), 26:3, 401--412
\copyright\ International Psychogeriatric Association 2014\\
doi:10.1017/S1041610213001956}\par\vspace{18pt}
\noindent{\Large Sleep fragmentation and executive function in late-life
depression\textsuperscript{*}\par}\vspace{10pt}
\noindent{\small\textsc{Nadia Petrov},\textsuperscript{1} \textsc{Oliver
Grant},\textsuperscript{2} \textsc{Chiara Romano}\textsuperscript{1} and \textsc{Henrik
Dahl}\textsuperscript{2,3}\par}\vspace{4pt}
{\footnotesize\itshape\noindent\textsuperscript{1}Institute for Brain Data, Lyon, France\\
\textsuperscript{2}University of Northfield, Northfield, UK\\
\textsuperscript{3}Harbour Medical Center, Halifax, Canada\par}\vspace{10pt}
{\small\noindent\textsc{Abstract}\par\vspace{3pt}
\noindent\textbf{Background:} Poor sleep is common in older adults with depression, yet its
link to executive function has rarely been measured objectively.\par
\noindent\textbf{Methods:} A total of 164 outpatients aged 60 or older wore actigraphs for two
weeks and completed a battery of executive tests.\par
\noindent\textbf{Results:} More frequent awakenings went with slower set-shifting after
adjustment for depression severity, age and education.\par
\noindent\textbf{Conclusions:} Fragmented sleep may be a treatable contributor to executive
problems in late-life depression.\par\vspace{4pt}
\noindent\textbf{Key words:} depression, sleep, actigraphy, executive function, aging\par}
\let\thefootnote\relax\footnotetext{\textsuperscript{*}Presented in part at an example
meeting on late-life mood disorders.}
"""
    t1 = r"""
\begin{table}[t]
\caption{Baseline characteristics of the sample (N = 164)}
\small
\begin{tabular}{@{}p{6.2cm}rr@{}}
\toprule
Characteristic & Mean or n & SD or \%\\
\midrule
Age, years & 71.3 & 6.4\\
Women & 109 & 66.5\\
Years of formal schooling completed & 12.6 & 3.1\\
Depression severity on the clinician-rated scale at study entry & 19.8 & 4.7\\
Awakenings per night (actigraphy) & 14.2 & 5.9\\
Taking a sedative or hypnotic medication at the time of the study & 38 & 23.2\\
\bottomrule
\end{tabular}
\end{table}
"""
    t2 = r"""
\begin{table}[t]
\caption{Regression of executive scores on sleep measures}
\small
\begin{tabular}{@{}lrrrr@{}}
\toprule
Outcome & B & SE & t & p\\
\midrule
Trail Making B (s) & 2.41 & 0.77 & 3.13 & 0.002\\
Verbal fluency (words) & $-0.32$ & 0.15 & $-2.13$ & 0.035\\
Digit span backward & $-0.05$ & 0.04 & $-1.25$ & 0.213\\
Stroop interference (s) & 1.12 & 0.49 & 2.29 & 0.023\\
\bottomrule
\end{tabular}
\end{table}
"""
    body = "\n".join([
        r"\section{Introduction}", prose(rng, 3),
        r"\section{Methods}", r"\subsection{Participants}", prose(rng, 1), t1,
        r"\subsection{Measures}", prose(rng, 2),
        r"\subsection{Statistical analysis}", prose(rng, 1),
        r"\section{Results}", prose(rng, 2), t2, prose(rng, 1),
        r"\section{Discussion}", prose(rng, 3),
        r"\subsection{Limitations}", prose(rng, 1),
        r"\section{Conclusion}", prose(rng, 1),
        r"\section{Conflict of interest}", "None.",
        r"\section{Description of authors' roles}", "N. Petrov designed the study and wrote "
        "the paper. O. Grant and C. Romano collected the data. H. Dahl supervised the "
        "analysis.",
        r"\section{Acknowledgments}", "We thank the participants and the clinic staff.",
    ])
    bib = hanging_references(9, 30, r"\footnotesize", "1.2em")
    tex = head + body + "\n" + bib + "\n\\end{document}\n"
    heads = [("Introduction", 1), ("Methods", 1), ("Participants", 2), ("Measures", 2),
             ("Statistical analysis", 2), ("Results", 1), ("Discussion", 1),
             ("Limitations", 2), ("Conclusion", 1), ("Conflict of interest", 1),
             ("Description of authors' roles", 1), ("Acknowledgments", 1), ("References", 1)]
    truth = {
        "class": "psych",
        "title": "Sleep fragmentation and executive function in late-life depression",
        "authors": ["Nadia Petrov", "Oliver Grant", "Chiara Romano", "Henrik Dahl"],
        "abstract": "Background: Poor sleep is common in older adults with depression, yet "
                    "its link to executive function has rarely been measured objectively. "
                    "Methods: A total of 164 outpatients aged 60 or older wore actigraphs for "
                    "two weeks and completed a battery of executive tests. Results: More "
                    "frequent awakenings went with slower set-shifting after adjustment for "
                    "depression severity, age and education. Conclusions: Fragmented sleep "
                    "may be a treatable contributor to executive problems in late-life "
                    "depression.",
        "year": 2014, "venue": "International Psychogeriatrics",
        "doi": "10.1017/S1041610213001956", "arxiv": None,
        "headings": [{"text": t, "level": lv} for t, lv in heads],
        "tables": [
            {"caption": "Baseline characteristics of the sample (N = 164)",
             "header": ["Characteristic", "Mean or n", "SD or %"],
             "rows": [["Age, years", "71.3", "6.4"], ["Women", "109", "66.5"],
                      ["Years of formal schooling completed", "12.6", "3.1"],
                      ["Depression severity on the clinician-rated scale at study entry",
                       "19.8", "4.7"],
                      ["Awakenings per night (actigraphy)", "14.2", "5.9"],
                      ["Taking a sedative or hypnotic medication at the time of the study",
                       "38", "23.2"]]},
            {"caption": "Regression of executive scores on sleep measures",
             "header": ["Outcome", "B", "SE", "t", "p"],
             "rows": [["Trail Making B (s)", "2.41", "0.77", "3.13", "0.002"],
                      ["Verbal fluency (words)", "−0.32", "0.15", "−2.13", "0.035"],
                      ["Digit span backward", "−0.05", "0.04", "−1.25", "0.213"],
                      ["Stroop interference (s)", "1.12", "0.49", "2.29", "0.023"]]},
        ],
        "figures": 0, "running": ["N. Petrov et al."],
    }
    return tex, truth


# -- AAAI-like two-column proceedings --------------------------------------------------------

def aaai() -> tuple[str, dict]:
    rng = random.Random(404)
    head = r"""\documentclass[letterpaper,10pt,twocolumn]{article}
\usepackage[margin=0.75in,columnsep=0.33in]{geometry}
\usepackage{times,helvet,courier}\usepackage[T1]{fontenc}
\usepackage{booktabs,amsmath,pgfplots,titlesec,caption}
\pgfplotsset{compat=1.17}
\usepackage[hidelinks]{hyperref}
\titleformat{\section}{\centering\large\bfseries}{}{0em}{}
\titleformat{\subsection}{\normalsize\bfseries}{}{0em}{}
\titleformat{\paragraph}[runin]{\normalsize\bfseries}{}{0em}{}[.]
\setcounter{secnumdepth}{0}
\pagestyle{empty}
\begin{document}
\twocolumn[{\centering
{\Large\bfseries Masked Autoencoders for Sparse Electrophysiology Recordings\par}
\vspace{12pt}
{\large Aiko Morimoto\textsuperscript{\rm 1}, Lars Petersen\textsuperscript{\rm 1,2},
Fatima Zahra\textsuperscript{\rm 2}\thanks{These authors contributed equally.}\par}
\vspace{4pt}
{\small\textsuperscript{\rm 1}University of Northfield\\
\textsuperscript{\rm 2}Institute for Brain Data\\
morimoto@example.org, petersen@example.org\par}\vspace{20pt}}]
\let\thefootnote\relax\footnotetext{Copyright \copyright\ 2024, Association for the
Advancement of Artificial Intelligence (www.aaai.org). All rights reserved.}
"""
    abstract = ("Intracranial recordings are sparse: each patient has a handful of electrodes "
                "placed for clinical reasons, and no two patients share a layout. We train a "
                "masked autoencoder that treats every electrode as a token with a position "
                "taken from a shared atlas, so recordings of different patients can be "
                "pooled. On three decoding tasks the pretrained model beats models trained "
                "per patient, most clearly when a patient contributes little data.")
    t1 = r"""
\begin{table}[t]
\centering\small\setlength{\tabcolsep}{4pt}
\begin{tabular}{@{}lrrrr@{}}
\toprule
Model & Speech & Motor & Seizure & Mean\\
\midrule
Per-patient CNN & 54.99 & 36.42 & 43.44 & 44.95\\
Per-patient LSTM & 56.10 & 38.05 & 45.90 & 46.68\\
Pooled, no atlas & 58.73 & 40.11 & 47.28 & 48.71\\
Ours, frozen & 61.02 & 44.86 & 52.37 & 52.75\\
Ours, fine-tuned & 63.48 & 47.90 & 55.12 & 55.50\\
\bottomrule
\end{tabular}
\caption{Balanced accuracy (\%) on three decoding tasks.}
\end{table}
"""
    t2 = r"""
\begin{table*}[t]
\centering\small\setlength{\tabcolsep}{3.5pt}
\begin{tabular}{@{}lrrrrrrrrrrrr@{}}
\toprule
 & \multicolumn{4}{c}{Speech} & \multicolumn{4}{c}{Motor} & \multicolumn{4}{c}{Seizure}\\
\cmidrule(lr){2-5}\cmidrule(lr){6-9}\cmidrule(l){10-13}
Mask ratio & 1 h & 4 h & 16 h & 64 h & 1 h & 4 h & 16 h & 64 h & 1 h & 4 h & 16 h & 64 h\\
\midrule
0.25 & 50.1 & 53.4 & 56.0 & 58.2 & 33.0 & 35.8 & 38.1 & 40.4 & 40.2 & 43.0 & 45.5 & 47.9\\
0.50 & 52.7 & 56.3 & 59.8 & 61.9 & 35.4 & 39.2 & 42.7 & 44.9 & 42.8 & 46.9 & 50.0 & 52.6\\
0.75 & 53.9 & 58.0 & 61.5 & 63.5 & 36.9 & 41.0 & 44.8 & 47.9 & 44.1 & 48.8 & 52.3 & 55.1\\
0.90 & 51.2 & 55.1 & 58.6 & 60.0 & 34.2 & 38.0 & 41.3 & 43.7 & 41.5 & 45.2 & 48.9 & 51.0\\
\bottomrule
\end{tabular}
\caption{Balanced accuracy (\%) by mask ratio and hours of pretraining data.}
\end{table*}
"""
    plot = (r"\begin{figure}[t]\centering\begin{tikzpicture}\begin{axis}[width=\columnwidth,"
            r"height=4.6cm, xlabel={Labelled minutes}, ylabel={Accuracy (\%)}, xmode=log,"
            r"legend pos=south east, legend cell align=left]"
            r"\addplot[mark=*,blue] coordinates {(1,41) (5,48) (20,55) (60,60)};"
            r"\addlegendentry{Pretrained}"
            r"\addplot[mark=square*,red] coordinates {(1,30) (5,38) (20,47) (60,55)};"
            r"\addlegendentry{From scratch}\end{axis}\end{tikzpicture}"
            r"\caption{Accuracy against the amount of labelled data per patient.}\end{figure}")
    body = "\n".join([
        r"\begin{center}\textbf{Abstract}\end{center}",
        r"{\small\leftskip=1em\rightskip=1em " + abstract + r"\par}",
        r"\section{Introduction}", prose(rng, 3),
        r"\section{Related Work}", r"\paragraph{Self-supervised learning}", prose(rng, 1), "",
        r"\paragraph{Electrode layouts}", prose(rng, 1),
        r"\section{Method}", prose(rng, 1), r"\subsection{Atlas Positions}", prose(rng, 2),
        r"\subsection{Masking}", prose(rng, 1), plot,
        r"\section{Experiments}", prose(rng, 1), t1, r"\paragraph{Baselines}", prose(rng, 1),
        "", r"\paragraph{Results}", prose(rng, 2), t2, prose(rng, 1),
        r"\section{Conclusion}", prose(rng, 2),
    ])
    bib = hanging_references(10, 34, r"\small", "1em")
    tex = head + body + "\n" + bib + "\n\\end{document}\n"
    heads = [("Introduction", 1), ("Related Work", 1), ("Self-supervised learning", 2),
             ("Electrode layouts", 2), ("Method", 1), ("Atlas Positions", 2), ("Masking", 2),
             ("Experiments", 1), ("Baselines", 2), ("Results", 2), ("Conclusion", 1),
             ("References", 1)]
    mask = [["0.25", "50.1", "53.4", "56.0", "58.2", "33.0", "35.8", "38.1", "40.4", "40.2",
             "43.0", "45.5", "47.9"],
            ["0.50", "52.7", "56.3", "59.8", "61.9", "35.4", "39.2", "42.7", "44.9", "42.8",
             "46.9", "50.0", "52.6"],
            ["0.75", "53.9", "58.0", "61.5", "63.5", "36.9", "41.0", "44.8", "47.9", "44.1",
             "48.8", "52.3", "55.1"],
            ["0.90", "51.2", "55.1", "58.6", "60.0", "34.2", "38.0", "41.3", "43.7", "41.5",
             "45.2", "48.9", "51.0"]]
    truth = {
        "class": "aaai",
        "title": "Masked Autoencoders for Sparse Electrophysiology Recordings",
        "authors": ["Aiko Morimoto", "Lars Petersen", "Fatima Zahra"],
        "abstract": abstract, "year": 2024, "venue": "AAAI", "doi": None, "arxiv": None,
        "headings": [{"text": t, "level": lv} for t, lv in heads],
        "tables": [
            {"caption": "Balanced accuracy (%) on three decoding tasks.",
             "header": ["Model", "Speech", "Motor", "Seizure", "Mean"],
             "rows": [["Per-patient CNN", "54.99", "36.42", "43.44", "44.95"],
                      ["Per-patient LSTM", "56.10", "38.05", "45.90", "46.68"],
                      ["Pooled, no atlas", "58.73", "40.11", "47.28", "48.71"],
                      ["Ours, frozen", "61.02", "44.86", "52.37", "52.75"],
                      ["Ours, fine-tuned", "63.48", "47.90", "55.12", "55.50"]]},
            {"caption": "Balanced accuracy (%) by mask ratio and hours of pretraining data.",
             "header": ["Mask ratio"] + [f"{task} {h}" for task in ("Speech", "Motor", "Seizure")
                                         for h in ("1 h", "4 h", "16 h", "64 h")],
             "rows": mask},
        ],
        "figures": 1, "running": [],
    }
    return tex, truth


# -- PeerJ-like ------------------------------------------------------------------------------

def peerj() -> tuple[str, dict]:
    rng = random.Random(505)
    head = r"""\documentclass[10pt]{article}
\usepackage[a4paper,left=6.2cm,right=1.8cm,top=2.2cm,bottom=2.4cm,marginparwidth=3.6cm,
  marginparsep=0.6cm]{geometry}
\usepackage[T1]{fontenc}\usepackage{lmodern}
\renewcommand{\familydefault}{\sfdefault}
\usepackage{booktabs,array,fancyhdr,titlesec,xcolor}
\usepackage[labelsep=space,labelfont=bf,font=small,singlelinecheck=false]{caption}
\usepackage[hidelinks]{hyperref}
\titleformat{\section}{\large\bfseries\MakeUppercase}{}{0em}{}
\titleformat{\subsection}{\normalsize\bfseries}{}{0em}{}
\setcounter{secnumdepth}{0}
\pagestyle{fancy}\fancyhf{}\renewcommand{\headrulewidth}{0pt}
\fancyfoot[L]{\footnotesize Kowalski et al. (2021), \textit{PeerJ}, DOI 10.7717/peerj.11234}
\fancyfoot[R]{\footnotesize\thepage/\pageref{LastPage}}
\fancypagestyle{first}{\fancyhf{}\fancyfoot[L]{\footnotesize\textbf{How to cite this
article} Kowalski N, Alvarez D, Lund P. 2021. Head motion biases cortical thickness in
children. \textit{PeerJ} 9:e11234 http://doi.org/10.7717/peerj.11234}}
\makeatletter\AtEndDocument{\label{LastPage}}\makeatother
\begin{document}
\thispagestyle{first}
\reversemarginpar\marginpar{\footnotesize\raggedright
Submitted 3 February 2021\\ Accepted 22 March 2021\\ Published 14 April 2021\\[8pt]
\textbf{Corresponding author}\\ Nina Kowalski, kowalski@example.org\\[8pt]
\textbf{Academic editor}\\ Clara Jensen\\[8pt]
\textbf{Additional Information and Declarations can be found on page 5}\\[8pt]
\textbf{DOI} 10.7717/peerj.11234\\[8pt]
\textbf{Copyright}\\ 2021 Kowalski et al.\\[8pt]
\textbf{Distributed under}\\ Creative Commons CC-BY 4.0}
\noindent{\huge\bfseries Head motion biases cortical thickness in children\par}
\vspace{12pt}
\noindent{\large Nina Kowalski\textsuperscript{1}, Diego Alvarez\textsuperscript{2} and Peter
Lund\textsuperscript{1}\par}\vspace{6pt}
{\small\noindent\textsuperscript{1}Department of Paediatrics, University of Northfield,
Northfield, United Kingdom\\
\textsuperscript{2}Institute for Brain Data, Lyon, France\par}\vspace{12pt}
\noindent{\large\bfseries ABSTRACT}\par\vspace{4pt}
{\small\noindent ABSTRACTTEXT\par}\vspace{6pt}
{\small\noindent\textbf{Subjects} Neuroscience, Pediatrics, Radiology and Medical Imaging\\
\textbf{Keywords} Head motion, Cortical thickness, Children, MRI\par}
"""
    abstract = ("Children move more than adults during a scan, and motion makes the cortex "
                "look thinner. We scanned 310 children twice in one session and rated motion "
                "on each scan. Thickness estimates fell by about one percent for each step on "
                "the motion scale, and group differences between clinical and control children "
                "shrank by a third once motion was accounted for.")
    head = head.replace("ABSTRACTTEXT", abstract)
    t1 = r"""
\begin{table}[t]
\caption{Children scanned, by age band and motion rating.}
\small
\begin{tabular}{@{}p{3.4cm}rrrp{3.6cm}@{}}
\toprule
Age band & Scans & Low motion & High motion & Notes\\
\midrule
6 to 8 years & 92 & 41 & 51 & Most repeated scans were needed in this band\\
9 to 11 years & 118 & 74 & 44 & Two scans stopped early\\
12 to 14 years & 100 & 77 & 23 & None\\
\bottomrule
\end{tabular}
\end{table}
"""
    t2 = r"""
\begin{table}[t]
\caption{Change in mean thickness per step of the motion scale.}
\small
\begin{tabular}{@{}lrrr@{}}
\toprule
Pipeline & Change (\%) & Lower bound & Upper bound\\
\midrule
Surface-based, default & $-1.08$ & $-1.31$ & $-0.85$\\
Surface-based, edited & $-0.74$ & $-0.95$ & $-0.53$\\
Voxel-based & $-1.42$ & $-1.70$ & $-1.14$\\
\bottomrule
\end{tabular}
\end{table}
"""
    body = "\n".join([
        r"\section{Introduction}", prose(rng, 3),
        r"\section{Materials \& Methods}", r"\subsection{Participants}", prose(rng, 1), t1,
        r"\subsection{Motion rating}", prose(rng, 1),
        r"\subsection{Thickness estimation}", prose(rng, 2),
        r"\section{Results}", prose(rng, 2), t2, prose(rng, 1),
        r"\section{Discussion}", prose(rng, 3),
        r"\section{Conclusions}", prose(rng, 1),
        r"\section{Additional Information and Declarations}", r"\subsection{Funding}",
        "The study received no external funding.", r"\subsection{Competing Interests}",
        "The authors declare there are no competing interests.",
    ])
    bib = hanging_references(11, 32, r"\small", "1.2em")
    tex = head + body + "\n" + bib + "\n\\end{document}\n"
    heads = [("Introduction", 1), ("Materials & Methods", 1), ("Participants", 2),
             ("Motion rating", 2), ("Thickness estimation", 2), ("Results", 1),
             ("Discussion", 1), ("Conclusions", 1),
             ("Additional Information and Declarations", 1), ("Funding", 2),
             ("Competing Interests", 2), ("References", 1)]
    truth = {
        "class": "peerj", "title": "Head motion biases cortical thickness in children",
        "authors": ["Nina Kowalski", "Diego Alvarez", "Peter Lund"],
        "abstract": abstract, "year": 2021, "venue": "PeerJ", "doi": "10.7717/peerj.11234",
        "arxiv": None, "headings": [{"text": t, "level": lv} for t, lv in heads],
        "tables": [
            {"caption": "Children scanned, by age band and motion rating.",
             "header": ["Age band", "Scans", "Low motion", "High motion", "Notes"],
             "rows": [["6 to 8 years", "92", "41", "51",
                       "Most repeated scans were needed in this band"],
                      ["9 to 11 years", "118", "74", "44", "Two scans stopped early"],
                      ["12 to 14 years", "100", "77", "23", "None"]]},
            {"caption": "Change in mean thickness per step of the motion scale.",
             "header": ["Pipeline", "Change (%)", "Lower bound", "Upper bound"],
             "rows": [["Surface-based, default", "−1.08", "−1.31", "−0.85"],
                      ["Surface-based, edited", "−0.74", "−0.95", "−0.53"],
                      ["Voxel-based", "−1.42", "−1.70", "−1.14"]]},
        ],
        "figures": 0, "running": ["Kowalski et al. (2021), PeerJ, DOI 10.7717/peerj.#"],
    }
    return tex, truth


PAPERS = {"bmc_psychosis": bmc, "hindawi_training": hindawi, "psych_sleep": psych,
          "aaai_electrodes": aaai, "peerj_motion": peerj}


def main() -> int:
    only = set(sys.argv[1:])
    answers = json.loads((OUT / "truth.json").read_text())
    for name, make in PAPERS.items():
        if only and name not in only:
            continue
        tex, truth = make()
        pdf = typeset(name, tex)
        (OUT / f"{name}.tex").write_text(tex)
        shutil.copy(pdf, OUT / f"{name}.pdf")
        answers[name] = truth
        print(f"{name}: {pdf.stat().st_size // 1024} kB")
    (OUT / "truth.json").write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")
    shutil.rmtree(OUT / "_build", ignore_errors=True)
    return 0


if __name__ == "__main__":
    assert SENTENCES
    raise SystemExit(main())
