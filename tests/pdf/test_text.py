"""Text clean-up: ligatures, hyphenation repair, sentence splitting."""

from __future__ import annotations

from kbtools.pdf.text import (
    SOFT_BREAK,
    join_lines,
    normalise,
    resolve_breaks,
    sentences,
    vocabulary,
)


def test_every_latin_ligature_is_expanded() -> None:
    text = "".join(chr(c) for c in range(0xFB00, 0xFB07))
    assert normalise(text) == "fffiflffifflstst"


def test_line_end_hyphen_is_pending_until_the_document_decides() -> None:
    joined = join_lines(["we learn repre-", "sentations of self-", "supervised models"])
    assert joined == f"we learn repre{SOFT_BREAK}sentations of self{SOFT_BREAK}supervised models"
    vocab = vocabulary([joined])
    assert resolve_breaks(joined, vocab) == "we learn representations of self-supervised models"


def test_document_vocabulary_overrides_the_prefix_rule() -> None:
    text = f"multi{SOFT_BREAK}modal"
    assert resolve_breaks(text, vocabulary(["multimodal data"])) == "multimodal"
    assert resolve_breaks(text, vocabulary(["multi-modal data"])) == "multi-modal"


def test_compound_already_hyphenated_keeps_its_hyphen() -> None:
    assert resolve_breaks(f"state-of-the{SOFT_BREAK}art", vocabulary([])) == "state-of-the-art"


def test_hyphen_before_a_capital_or_digit_is_kept_without_a_space() -> None:
    assert join_lines(["the DNABERT-", "Base model"]) == "the DNABERT-Base model"
    assert join_lines(["n = 3-", "5 sites"]) == "n = 3-5 sites"


def test_sentences_do_not_split_at_abbreviations_or_decimals() -> None:
    text = ("Models (e.g. Evo 2) reach 0.71 AUC, see Fig. 2 and Smith et al. for details. "
            "The second sentence ends here. A third one?")
    assert sentences(text) == [
        "Models (e.g. Evo 2) reach 0.71 AUC, see Fig. 2 and Smith et al. for details.",
        "The second sentence ends here.", "A third one?"]


def test_a_compound_broken_at_its_hyphen_keeps_it() -> None:
    """Both halves are words of the paper and the joined form never occurs: the hyphen was
    the compound's own ("participant-level"), not TeX's."""
    vocab = vocabulary(["no participant data at any level leaves the site",
                        f"aggregate participant{SOFT_BREAK}level results"])
    assert resolve_breaks(f"participant{SOFT_BREAK}level", vocab) == "participant-level"
    assert resolve_breaks(f"repre{SOFT_BREAK}sentation", vocab) == "representation"
