"""LexRank sentence centrality against an independent oracle and a planted central sentence."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from kbtools.pdf.summarize import DAMPING, SIMILARITY_THRESHOLD, centrality, summarise, tfidf


def _oracle(texts: list[str]) -> np.ndarray:
    """PageRank as the leading eigenvector of the dense Google matrix (no power iteration)."""
    x = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts).toarray()
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    adj = (x @ x.T >= SIMILARITY_THRESHOLD).astype(float)
    np.fill_diagonal(adj, 0)
    n = len(texts)
    rows = adj.sum(axis=1, keepdims=True)
    trans = np.where(rows > 0, adj / np.where(rows > 0, rows, 1), 1.0 / n)
    google = DAMPING * trans.T + (1 - DAMPING) / n
    values, vectors = np.linalg.eig(google)
    v = np.real(vectors[:, np.argmax(np.real(values))])
    return v / v.sum()


TEXTS = [
    "Cortical thickness predicts behavioural outcomes in large cohorts.",
    "Gene expression embeddings predict behavioural outcomes across sites.",
    "Cortical thickness and gene expression embeddings jointly predict behavioural outcomes.",
    "The weather was pleasant during the conference dinner.",
    "Site effects bias cortical thickness unless harmonised.",
    "Gene expression embeddings come from a pretrained genomic model.",
]


def test_tfidf_equals_scikit_learn() -> None:
    texts = TEXTS + ["The the and of.", "Gene gene gene expression, expression!"]
    ours = tfidf(texts)
    ref = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(texts)
    theirs = ref.transform(texts).toarray()
    # same columns in scikit-learn's (sorted) vocabulary order
    from kbtools.pdf.stopwords import ENGLISH_STOP_WORDS
    from kbtools.pdf.summarize import _TOKEN
    order = list(dict.fromkeys(t for text in texts for t in _TOKEN.findall(text.lower())
                               if t not in ENGLISH_STOP_WORDS))
    assert sorted(order) == list(ref.get_feature_names_out())
    cols = [order.index(w) for w in ref.get_feature_names_out()]
    np.testing.assert_allclose(ours[:, cols], theirs, atol=1e-12)


def test_stop_words_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as theirs

    from kbtools.pdf.stopwords import ENGLISH_STOP_WORDS as ours

    assert ours == theirs


def test_a_summary_imports_no_scikit_learn() -> None:
    import subprocess
    import sys

    code = ("import sys; from kbtools.pdf.summarize import summarise; "
            "summarise([('Gene expression embeddings predict behaviour across many sites.', 1)]"
            " * 3); print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_centrality_equals_the_eigenvector_oracle() -> None:
    np.testing.assert_allclose(centrality(TEXTS), _oracle(TEXTS), atol=1e-8)


def test_planted_central_sentence_ranks_first_and_outlier_last() -> None:
    scores = centrality(TEXTS)
    assert int(np.argmax(scores)) == 2  # shares terms with every on-topic sentence
    assert int(np.argmin(scores)) == 3  # shares none


def test_summary_keeps_document_order_and_pages() -> None:
    pairs = [(t + " It was measured in the cohort of this study.", i + 1)
             for i, t in enumerate(TEXTS)]
    picked = summarise(pairs, k=3)
    assert len(picked) == 3
    assert [p for _, p in picked] == sorted(p for _, p in picked)
    assert pairs[2] in picked and pairs[3] not in picked


def test_no_candidates_gives_an_empty_summary() -> None:
    assert summarise([("Too short.", 1)]) == []
