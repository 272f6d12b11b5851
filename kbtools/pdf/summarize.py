"""Extractive summary: the most central sentences by TF-IDF similarity (LexRank-style).

Each candidate sentence (8 to 60 words, from body paragraphs, not the abstract, captions or
references) becomes a TF-IDF vector (English stop words, sublinear term frequency, smoothed
idf, unit length: scikit-learn's ``TfidfVectorizer(stop_words="english", sublinear_tf=True)``
computed with numpy, which the tests check, so that one paper costs no scikit-learn import).
Sentences are nodes of a graph whose edges are cosine similarities above 0.1;
a sentence's score is its stationary probability under a damped random walk on that graph
(PageRank, damping 0.85), so a sentence scores high when many other sentences say similar
things. The top ``k`` sentences are returned in document order with their page numbers.
"""

from __future__ import annotations

import re

import numpy as np

#: Sentences considered at most (the graph is quadratic in this).
MAX_SENTENCES = 600
SIMILARITY_THRESHOLD = 0.1
DAMPING = 0.85


def default_k(n_sentences: int) -> int:
    """How many sentences to keep: 3 for short texts, up to 8 for long ones."""
    return int(min(8, max(3, round(n_sentences / 25))))


_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def tfidf(texts: list[str]) -> np.ndarray:
    """Dense TF-IDF rows of unit length (zero rows for texts of stop words only)."""
    from kbtools.pdf.stopwords import ENGLISH_STOP_WORDS

    docs = [[t for t in _TOKEN.findall(text.lower()) if t not in ENGLISH_STOP_WORDS]
            for text in texts]
    vocab: dict[str, int] = {}
    for doc in docs:
        for t in doc:
            vocab.setdefault(t, len(vocab))
    counts = np.zeros((len(texts), len(vocab)))
    rows = [i for i, doc in enumerate(docs) for _ in doc]
    cols = [vocab[t] for doc in docs for t in doc]
    np.add.at(counts, (rows, cols), 1.0)
    tf = np.where(counts > 0, 1.0 + np.log(np.where(counts > 0, counts, 1.0)), 0.0)
    df = (counts > 0).sum(axis=0)
    x = tf * (np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _shared_terms(x: np.ndarray) -> np.ndarray:
    """The columns of terms in two or more texts: the only ones a similarity between two
    different texts depends on (rows keep their full-vocabulary unit length)."""
    return x[:, (x > 0).sum(axis=0) >= 2]


def centrality(texts: list[str]) -> np.ndarray:
    """LexRank scores of ``texts`` (sum to 1); uniform when there is nothing to compare."""
    n = len(texts)
    if n == 0:
        return np.zeros(0)
    x = tfidf(texts)
    if not x.size:  # only stop words
        return np.full(n, 1.0 / n)
    shared = _shared_terms(x)
    sim = shared @ shared.T  # rows have unit length: off the diagonal, this is cosine
    adj = (sim >= SIMILARITY_THRESHOLD).astype(float)
    np.fill_diagonal(adj, 0.0)
    degree = adj.sum(axis=1, keepdims=True)
    trans = np.divide(adj, degree, out=np.full_like(adj, 1.0 / n), where=degree > 0)
    scores = np.full(n, 1.0 / n)
    for _ in range(100):
        new = (1 - DAMPING) / n + DAMPING * trans.T @ scores
        if np.abs(new - scores).sum() < 1e-9:
            scores = new
            break
        scores = new
    return scores / scores.sum()


_NON_LETTERS = re.compile(r"[^A-Za-z]+")


_DEFINITION = re.compile(r"^[A-Z][\w\- ]{1,40}:\s")


def candidate(sentence: str) -> bool:
    """A body sentence fit to quote: 8 to 60 words, mostly letters, no URL, no citation-
    heavy text, and not a glossary entry ("Polygenic score: a weighted sum ...")."""
    words = sentence.split()
    return (8 <= len(words) <= 60 and sentence[:1].isupper() and not _DEFINITION.match(sentence)
            and len(_NON_LETTERS.sub("", sentence)) > 0.6 * len(sentence)
            and not re.search(r"https?://|@|\bet al\.,? \(?\d{4}", sentence))


def summarise(sentences: list[tuple[str, int]], k: int | None = None) -> list[tuple[str, int]]:
    """The ``k`` most central of ``(sentence, page)`` pairs, in their original order."""
    pool = [(i, s, p) for i, (s, p) in enumerate(sentences) if candidate(s)][:MAX_SENTENCES]
    if not pool:
        return []
    k = default_k(len(pool)) if k is None else k
    scores = centrality([s for _, s, _ in pool])
    best = sorted(np.argsort(-scores, kind="stable")[:k])
    return [(pool[j][1], pool[j][2]) for j in best]
