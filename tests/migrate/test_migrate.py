"""`kbtools migrate` on a KB written in the card format used before kbtools (the fixture in
predecessor_kb/: 11 model, 11 paper, 11 dataset, 11 integration cards, 11 experiment plans,
templates, missing and odd values): validate before, migrate, validate after, nothing lost,
a second run changes nothing."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from kbtools.cli import main
from kbtools.migrate.engine import plan
from kbtools.schemas.extensions import extension_fields
from kbtools.validation import validate_kb

from . import audit
from .audit import COMMITTED, commit_all

FIXTURE = Path(__file__).parent / "predecessor_kb"
CARD_FOLDERS = ("kb/model_cards", "kb/paper_cards", "kb/datasets", "kb/integration_cards",
                "configs/experiments")


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb_repo"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.fixture(scope="module")
def migration(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The fixture KB in git, after one `kbtools migrate --write`, and the JSON report."""
    root = tmp_path_factory.mktemp("migrated") / "kb_repo"
    shutil.copytree(FIXTURE, root)
    commit_all(root)
    report = root.parent / "report.json"
    assert main(["migrate", "--write", "--no-diff", "--report", str(report),
                 "--kb-root", str(root)]) == 0
    return root, json.loads(report.read_text())


@pytest.fixture(scope="module")
def migrated(migration: tuple[Path, dict[str, Any]]) -> Path:
    return migration[0]


def cards(root: Path) -> list[Path]:
    return sorted(p for folder in CARD_FOLDERS for p in (root / folder).glob("*.yaml"))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# the fixture is what the issue describes


def test_fixture_has_ten_plus_cards_of_each_kind() -> None:
    for folder in CARD_FOLDERS:
        real = [p for p in (FIXTURE / folder).glob("*.yaml") if p.name != "template.yaml"]
        assert len(real) >= 10, folder


def test_plain_validate_before_migration_reports_each_problem_once(kb: Path) -> None:
    result = validate_kb(kb, jobs=1)
    errors = [p for p in result.problems if p.is_error]
    assert len(errors) > 200  # the fixture is far from the kbtools shape
    at = Counter((p.path, p.json_path) for p in errors)
    assert max(at.values()) == 1, [k for k, n in at.items() if n > 1]
    rules = {p.rule for p in errors}
    # no false id.duplicate, ref.strategy, ...: only the shape, the summaries and PDFs the
    # cards name but the KB lacks, and a model listing a paper that does not list it back
    assert rules == {"schema", "path.missing", "ref.backlink"}, rules
    assert all(p.hint for p in errors)
    for p in errors:
        assert "did you mean `scheme`" not in p.hint and "did you mean `phenotypes`" not in p.hint
        if p.message.startswith("expected a"):
            assert p.hint.startswith("write it as:\n"), p
    older = [p for p in errors if "kbtools migrate" in p.hint]
    assert len(older) > 50  # fields of the older format say where they go


# ---------------------------------------------------------------------------------------------
# dry run, write, validate, second run


def test_dry_run_prints_diffs_and_changes_nothing(kb: Path, capsys) -> None:
    before = digest(kb)
    assert main(["migrate", "--kb-root", str(kb)]) == 0
    out = capsys.readouterr().out
    assert "--- a/kb/model_cards/helixlm.yaml" in out and "+modality: genomics" in out
    assert "+++ b/kb/schemas/extensions.yaml" in out
    assert "dry run:" in out
    assert digest(kb) == before


#: What stays wrong after the migration, on purpose: files the cards name that the KB lacks
#: (checked in the built-in path fields they now sit in), and a size still to be decided.
LEFT_FOR_THE_USER = {
    # PDFs and summaries in the built-in path fields
    ("path.missing", "kb/paper_cards/strandmamba_2024.yaml", "$.pdf"),
    ("path.missing", "kb/paper_cards/genomeweaver_2025.yaml", "$.pdf"),
    ("path.missing", "kb/paper_cards/scribe_clin_2024.yaml", "$.pdf"),
    ("path.missing", "kb/paper_cards/genomeweaver_2025.yaml", "$.summary_md_path"),
    ("path.missing", "kb/paper_cards/scribe_clin_2024.yaml", "$.summary_md_path"),
    # files named in the KB's own fields (declared with format: kb-path)
    ("path.missing", "configs/experiments/02_prediction_baselines.yaml", "$.references[1]"),
    ("path.missing", "kb/integration_cards/embedding_strategies.yaml",
     "$.entries[0].sources[0]"),
    ("path.missing", "kb/paper_cards/helixlm_2024.yaml", "$.related_to[0]"),
    ("path.missing", "kb/paper_cards/late_fusion_review_2023.yaml", "$.related_to[0]"),
    # "TBD (e.g., 7B–155B)" stays text: the size is still to be decided
    ("lint.todo", "kb/model_cards/genomeweaver.yaml", "$.arch.parameters"),
}


def test_migrate_write_then_validate_leaves_only_what_the_kb_lacks(migrated: Path) -> None:
    errors = {(p.rule, p.path, p.json_path) for p in validate_kb(migrated, jobs=1).problems
              if p.is_error}
    assert errors == LEFT_FOR_THE_USER


def test_second_migrate_changes_nothing(migrated: Path, capsys) -> None:
    before = digest(migrated)
    assert main(["migrate", "--write", "--kb-root", str(migrated)]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert digest(migrated) == before


# ---------------------------------------------------------------------------------------------
# nothing lost: every leaf value of the input is in the migrated card (or its extensions)

def test_no_leaf_value_of_the_input_is_lost(migrated: Path) -> None:
    assert audit.lost_values(FIXTURE, migrated, audit.vocabulary()) == []


def test_no_number_is_invented(migration: tuple[Path, dict[str, Any]]) -> None:
    """Every number of a migrated card is stated exactly by the card, or listed in the
    report (a kbtools starting value of a plan, the largest of several sizes)."""
    root, report = migration
    assert audit.invented_numbers(FIXTURE, root, report) == []
    genomeweaver = load(root / "kb/model_cards/genomeweaver.yaml")
    assert genomeweaver["arch"]["parameters"] == "TBD (e.g., 7B–155B)"
    assert "num_parameters" not in genomeweaver["arch"]
    assert genomeweaver["arch"]["context_length"] == "131k"  # 131,072 meant: stays text
    assert genomeweaver["checkpoints"][0]["parameters"] == "~1.3B"
    scribe = load(root / "kb/model_cards/scribe_clin.yaml")
    assert scribe["arch"] == {"type": "decoder-only transformer",
                              "parameters": "scales to 7B+", "context_length": "4k"}
    kept = {(n["rel"], n["path"]): n["message"] for n in report["notes"]
            if n["category"] == "kept"}
    assert "a bound" in kept[("kb/model_cards/scribe_clin.yaml", "arch.parameters")]
    assert "4,096" in kept[("kb/model_cards/scribe_clin.yaml", "arch.context_length")]
    assert "131,072" in kept[("kb/model_cards/genomeweaver.yaml", "arch.context_length")]
    assert "approximation" in kept[("kb/model_cards/neurofold.yaml", "arch.parameters")]


def test_no_comment_is_lost_or_duplicated(migrated: Path) -> None:
    assert audit.comment_changes(FIXTURE, migrated) == ([], [])
    bundle = (migrated / "kb/datasets/adult_mri_bundle.yaml").read_text()
    assert "  # JSONL directory:\n  - name: sequence\n  # one JSON line per subject and " \
           "series\n  - name: text\n\n  # the join key\n  - name: eid\n" in bundle


def test_every_narrowing_is_reported_and_the_original_kept(
        migration: tuple[Path, dict[str, Any]]) -> None:
    root, report = migration
    found, unreported = audit.unreported_narrowings(FIXTURE, root, report)
    assert found >= 10 and unreported == []
    bundle = load(root / "kb/datasets/adult_mri_bundle.yaml")
    assert bundle["modalities"] == ["smri"] and bundle["kb_modalities"] == ["mri"]
    twins = load(root / "kb/datasets/twin_brain_scans.yaml")
    assert twins["modalities"] == ["smri", "fmri"]
    assert twins["kb_modalities"] == ["t1", "t2", "rs-fmri"]
    narrowed = {(n["rel"], n["message"].split(":")[0]) for n in report["notes"]
                if n["category"] == "narrowed"}
    assert ("kb/integration_cards/harmonization_methods.yaml", "`exploratory` -> `draft`") \
        in narrowed


def test_a_modality_is_never_dropped_by_swapping(migrated: Path) -> None:
    scribe = load(migrated / "kb/model_cards/scribe_clin.yaml")
    assert (scribe["modality"], scribe["domain"]) == ("text", "general")  # language -> text
    genomeweaver = load(migrated / "kb/model_cards/genomeweaver.yaml")
    assert (genomeweaver["modality"], genomeweaver["domain"]) == ("genomics", "genetics")


def test_no_date_is_made_up(migrated: Path, kb: Path) -> None:
    """last_updated comes from the card, the file's last commit, or the plan's created date;
    without git history it stays absent and the report says so."""
    assert audit.fabricated_dates(FIXTURE, migrated) == []
    assert load(migrated / "kb/model_cards/genomeweaver.yaml")["last_updated"] == COMMITTED
    report = plan(kb).report  # not a git repository
    assert "kb/model_cards/genomeweaver.yaml" in {
        n.rel for n in report.of("missing") if n.path == "last_updated"
        and "no commit in git" in n.message}
    assert "last_updated" not in load_text(plan(kb).new["kb/model_cards/genomeweaver.yaml"])


def test_missed_mappings(migrated: Path) -> None:
    weaver = load(migrated / "kb/paper_cards/genomeweaver_2025.yaml")
    assert weaver["arxiv"] == "2502.04567" and "doi" not in weaver and weaver["year"] == 2025
    assert load(migrated / "configs/experiments/04_partial_correlations.yaml")["outcome"] == \
        "phq9"  # datasets.phenotype
    assert load(migrated / "configs/experiments/01_cca_gene_smri.yaml")["method"] == \
        "cca_permutation"  # analysis.method


def load_text(text: str) -> Any:
    return yaml.safe_load(text)


def test_derived_values_are_listed_for_checking(kb: Path) -> None:
    text = plan(kb).report.text()
    assert "governance.classification: restricted (from access.level)" in text


def test_removed_placeholders_and_empties_are_reported(kb: Path) -> None:
    report = plan(kb).report
    removed = {(n.rel, n.path) for n in report.notes if n.category in ("placeholder", "empty")}
    assert ("kb/datasets/adult_fmri_tensor.yaml", "counts.subjects") in removed
    assert ("kb/datasets/dev_cohort.yaml", "counts.subjects") in removed
    assert ("kb/model_cards/voxelformer.yaml", "arch.context_length") in removed


# ---------------------------------------------------------------------------------------------
# what the migration does to each kind


def test_model_cards(migrated: Path) -> None:
    helix = load(migrated / "kb/model_cards/helixlm.yaml")
    assert (helix["modality"], helix["domain"]) == ("genomics", "genetics")
    assert helix["arch"]["num_parameters"] == 650_000_000
    assert helix["arch"]["parameters"] == "111M / 650M"  # lossy: the original stays
    assert "context_length" not in helix["arch"] and helix["context_length"] == 131072
    assert helix["checkpoints"][1] == {"name": "helixlm-large", "context_length": 131072,
                                       "dtype": "bf16",
                                       "url": "https://huggingface.co/example-lab/helixlm-large"}
    assert helix["weights"]["hub_id"] == "example-lab/helixlm-large"
    assert helix["integrations"] == {"strategies": ["gene_fm_pca512_v1"],
                                     "pipelines": ["genetics_embedding_pipeline"]}
    assert helix["papers"] == ["helixlm_2024"] and helix["status"] == "draft"
    cortex = load(migrated / "kb/model_cards/cortexmae.yaml")
    assert (cortex["modality"], cortex["domain"]) == ("fmri", "brain")
    assert cortex["arch"]["num_parameters"] == 1_200_000_000
    strand = load(migrated / "kb/model_cards/strandmamba.yaml")
    assert strand["integrations"]["other"] == ["rag_assistant"]
    medllm = load(migrated / "kb/model_cards/medllm.yaml")
    assert medllm["summary"].startswith("Instruction-tuned") and medllm["modality"] == "clinical"
    tabuloid = load(migrated / "kb/model_cards/tabuloid.yaml")
    assert tabuloid["license"] == {"code": "MIT"}
    assert load(migrated / "kb/model_cards/pathovit.yaml")["tags"] == ["pathology", "slides"]


def test_paper_cards(migrated: Path) -> None:
    helix = load(migrated / "kb/paper_cards/helixlm_2024.yaml")
    assert helix["id"] == "helixlm_2024" and helix["models"] == ["helixlm"]
    assert helix["url"] == "https://arxiv.org/abs/2401.01234"
    assert helix["pdf"] == "docs/papers/helixlm_2024.pdf"
    assert helix["verification"] == {"notes": "needs_human_review"}
    assert helix["kb_relevance"].startswith("- Average forward")
    strand = load(migrated / "kb/paper_cards/strandmamba_2024.yaml")
    # the file is not there: the path goes to the built-in field, where validate reports it
    assert strand["pdf"] == "docs/papers/strandmamba_2024.pdf" and "local_pdf_path" not in strand
    codon = load(migrated / "kb/paper_cards/codonbert_2023.yaml")
    assert (codon["venue"], codon["year"]) == ("NeurIPS 2023", 2023)
    voxel = load(migrated / "kb/paper_cards/voxelformer_2025.yaml")
    assert voxel["year"] == 2025 and voxel["doi"] == "10.5555/voxelformer.2025"
    cortex = load(migrated / "kb/paper_cards/cortexmae_2024.yaml")
    assert cortex["year"] == 2024 and cortex["datasets"] == ["adult_fmri_tensor"]
    assert load(migrated / "kb/paper_cards/tabuloid_2025.yaml")["venue"] == "Nature Methods"


def test_dataset_cards(migrated: Path) -> None:
    fmri = load(migrated / "kb/datasets/adult_fmri_tensor.yaml")
    assert fmri["access"] == {"level": "restricted", "how": "Needs an approved application to "
                              "the cohort's access committee.\n"}
    assert fmri["governance"] == {"classification": "restricted",
                                  "notes": "No redistribution of subject-level data."}
    assert fmri["required_columns"] == [{"name": "eid"}, {"name": "run"},
                                        {"name": "tensor_path"}]
    assert fmri["modalities"] == ["fmri"]
    assert fmri["storage"] == {"location": "s3://example-imaging-derived/rsfmri/parcels400/"}
    assert fmri["covariates"] == ["age", "sex", "centre", "mean_fd", "dvars"]
    assert fmri["covariate_groups"]["optional"] == ["dvars"]
    wes = load(migrated / "kb/datasets/adult_wes.yaml")
    assert wes["counts"] == {"subjects": 450_000} and wes["access"]["level"] == "application"
    corpus = load(migrated / "kb/datasets/multispecies_corpus.yaml")
    assert corpus["counts"]["windows"] == 12 * 10**6
    slides = load(migrated / "kb/datasets/slide_archive.yaml")
    assert slides["kb_counts"] == {"slides": "100k+"} and "counts" not in slides


def test_integration_cards(migrated: Path) -> None:
    strategies = load(migrated / "kb/integration_cards/embedding_strategies.yaml")
    assert strategies["registry"] == "embedding_strategies"
    ids = [e["id"] for e in strategies["entries"]]
    assert ids[0] == "gene_fm_pca512_v1" and len(ids) == 6
    gene = strategies["entries"][0]
    assert gene["projection"] == {"method": "pca", "dim": 512, "fit_on": "train_fold"}
    fusion = next(e for e in strategies["entries"] if e["id"] == "fusion_concat_gene_brain_v1")
    assert fusion["inputs"] == ["gene_fm_pca512_v1", "smri_rois_pca512_v1"]
    methods = load(migrated / "kb/integration_cards/harmonization_methods.yaml")
    assert methods["registry"] == "harmonization_methods"
    harmonizer = next(e for e in methods["entries"] if e["id"] == "image_harmonizer")
    assert harmonizer["modality"] == "smri" and harmonizer["status"] == "draft"
    single = load(migrated / "kb/integration_cards/gene_brain_alignment.yaml")
    assert single["registry"] == "pipelines"
    [entry] = single["entries"]
    assert entry["models"] == ["helixlm", "strandmamba", "cortexmae"]
    assert entry["model_groups"] == {"genetics": ["helixlm", "strandmamba"],
                                     "brain": ["cortexmae"]}


def test_experiment_configs(migrated: Path) -> None:
    cca = load(migrated / "configs/experiments/01_cca_gene_smri.yaml")
    assert cca["status"] == "planning" and cca["name"].startswith("CCA")
    assert cca["data"]["genetics"] == {"dataset": "adult_wes"}
    assert cca["cv"] == {"scheme": "stratified_group_kfold", "n_splits": 5,
                         "group_by": "centre", "stratify_by": "mdd"}
    assert cca["seed"] == 42 and cca["last_updated"] == COMMITTED  # its last commit
    baselines = load(migrated / "configs/experiments/02_prediction_baselines.yaml")
    assert "datasets" not in baselines and baselines["outcome"] == "mdd"  # datasets.phenotype
    assert "kb_models" in baselines and baselines["outputs"]["kb_plots"]
    logo = load(migrated / "configs/experiments/03_logo_gene_attribution.yaml")
    assert logo["notes"].startswith("- Five folds")


def test_comments_and_key_order_are_kept(migrated: Path) -> None:
    helix = (migrated / "kb/model_cards/helixlm.yaml").read_text()
    assert 'parameters: "111M / 650M"   # two released sizes' in helix
    assert (migrated / "kb/model_cards/strandmamba.yaml").read_text().startswith(
        "# Strand-aware state-space model.\n")
    cca = (migrated / "configs/experiments/01_cca_gene_smri.yaml").read_text()
    assert "# same subjects as the prediction baselines" in cca
    assert re.search(r'^outcome: "mdd" +# binary outcome column$', (
        migrated / "configs/experiments/02_prediction_baselines.yaml").read_text(), re.M)
    assert "context_length: 200000  # parcels x timepoints" in re.sub(
        r" +#", "  #", (migrated / "kb/model_cards/cortexmae.yaml").read_text())
    original = list(load(FIXTURE / "kb/model_cards/helixlm.yaml"))
    now = list(load(migrated / "kb/model_cards/helixlm.yaml"))
    kept = [k for k in now if k in original]
    assert kept == [k for k in original if k in now]


def test_templates_stay_templates(migrated: Path) -> None:
    template = load(migrated / "kb/model_cards/template.yaml")
    assert template["modality"] == "genomics" and "num_parameters" in template["arch"]
    assert template["status"] == "template"
    result = validate_kb(migrated, jobs=1)
    assert not [p for p in result.problems if p.path.endswith("/template.yaml")]


# ---------------------------------------------------------------------------------------------
# the KB's own fields


def test_kept_fields_are_declared_with_descriptions(migrated: Path) -> None:
    fields = extension_fields(migrated)
    model = {f.name: f.description for f in fields["model"]}
    assert model["how_to_infer"].startswith("Commands or code")
    assert "arch.special_features" in model and "checkpoints[].dtype" in model
    assert "entries[].intended_use" in {f.name for f in fields["registry"]}
    assert {"architecture", "related_to"} <= {f.name for f in fields["paper"]}
    assert {"dtypes", "schema_ref", "covariate_groups"} <= {f.name for f in fields["dataset"]}
    assert {"feature_preparation", "next_steps"} <= {f.name for f in fields["experiment"]}


def test_existing_declarations_are_kept_and_extended(kb: Path) -> None:
    (kb / "kb/schemas").mkdir(parents=True)
    own = "# ours\nmodel:\n  properties:\n    how_to_infer:\n      type: object\n      " \
          "description: Our snippets.\n"
    (kb / "kb/schemas/extensions.yaml").write_text(own)
    result = plan(kb)
    text = result.new["kb/schemas/extensions.yaml"]
    assert text.startswith(own)
    assert "Our snippets." in text and "embedding_recipe:" in text


def test_unmappable_values_are_reported(kb: Path) -> None:
    report = plan(kb).report
    text = report.text()
    assert "rag_assistant" in text
    kept = {(n.rel, n.path) for n in report.of("kept")}
    assert ("kb/model_cards/eegwave.yaml", "arch.parameters") in kept
    assert ("kb/model_cards/helixlm.yaml", "arch.parameters") in {
        (n.rel, n.path) for n in report.of("lossy")}


def test_a_required_value_no_rule_can_find_is_reported(kb: Path) -> None:
    card = kb / "kb/paper_cards/late_fusion_review_2023.yaml"
    card.write_text(card.read_text().replace("year: 2023\n", ""))
    missing = [n for n in plan(kb).report.of("missing")
               if n.rel == "kb/paper_cards/late_fusion_review_2023.yaml"]
    assert any("year" in n.message for n in missing)


def test_a_file_that_does_not_parse_is_left_alone_and_reported(kb: Path) -> None:
    bad = kb / "kb/model_cards/broken.yaml"
    bad.write_text("id: broken\nname: [unclosed\n")
    result = plan(kb)
    assert "kb/model_cards/broken.yaml" not in result.new
    assert any(n.rel == "kb/model_cards/broken.yaml" for n in result.report.of("missing"))


def test_an_invalid_mapping_file_is_a_usage_error(kb: Path, tmp_path: Path, capsys) -> None:
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("kinds:\n  model:\n    rules:\n      - rename_all: {from: a}\n")
    assert main(["migrate", "--mapping", str(mapping), "--kb-root", str(kb)]) == 2
    assert "unknown operation `rename_all`" in capsys.readouterr().err


def test_a_kb_already_in_the_kbtools_shape_is_left_alone(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "native"
    for folder in ("kb", "configs"):
        shutil.copytree(repo / folder, root / folder)
    result = plan(root)
    assert result.changed == [] and not result.report.notes


def test_a_card_linking_out_of_the_kb_is_never_read(kb: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("id: secret\nname: kept outside\n")
    (kb / "kb/model_cards/linked.yaml").symlink_to(outside)
    result = plan(kb)
    assert "kb/model_cards/linked.yaml" not in result.new
    [note] = [n for n in result.report.notes if n.rel == "kb/model_cards/linked.yaml"]
    assert note.message.startswith("not migrated:") and "symlink" in note.message
    assert outside.read_text() == "id: secret\nname: kept outside\n"


# ---------------------------------------------------------------------------------------------
# plans: after one migration, each plan of an implemented analysis dry-runs with bound data

PLANS = audit.implemented_plans(FIXTURE)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return audit.plan_tables(tmp_path_factory.mktemp("tables"))


def test_the_fixture_has_a_plan_per_method() -> None:
    methods = {load(FIXTURE / rel)["analysis"]["method"] for rel in PLANS}
    assert len(PLANS) == 6 and len(methods) == 6
    statuses = {load(FIXTURE / rel)["status"] for rel in PLANS}
    assert statuses == {"planning", "template", "design"}


@pytest.mark.parametrize("rel", PLANS)
def test_each_plan_dry_runs_with_its_roles_bound(rel: str, migration, tables, capsys) -> None:
    root, report = migration
    config = load(root / rel)
    assert config["method"] in {"cca_permutation", "prediction_baselines",
                                "logo_gene_attribution", "partial_correlations",
                                "harmonization_ablation", "pca_dimension_search"}
    bound = [f"--data={role}={tables[role]}" for role in config["data"]]
    capsys.readouterr()
    assert main(["run-experiment", str(root / rel), "--dry-run", *bound,
                 "--kb-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"experiment {config['id']} ({config['method']})")
    assert "fold 1: train" in out and "dry run: nothing computed" in out
    # what the plan does not say is listed for this plan, and the prose stays
    listed = [n for n in report["notes"] if n["rel"] == rel and n["category"] == "plan"]
    assert any(n["path"] == "method" and "from the plan's" in n["message"] for n in listed)
    assert any("not in the plan" in n["message"] for n in listed)
    source = load(FIXTURE / rel)
    for prose in ("rationale", "hypothesis", "objective"):
        if prose in source:
            text = source[prose]
            assert text in (config.get(prose), config.get("description"))


def test_a_plan_of_an_analysis_kbtools_lacks_says_so(migration) -> None:
    root, report = migration
    escalation = load(root / "configs/experiments/10_fusion_escalation.yaml")
    assert "method" not in escalation and escalation["status"] == "planning"
    assert any(n["rel"] == "configs/experiments/10_fusion_escalation.yaml"
               and n["category"] == "plan" and n["path"] == "method"
               for n in report["notes"])


def test_plan_settings_come_from_the_plan(migrated: Path) -> None:
    cca = load(migrated / "configs/experiments/01_cca_gene_smri.yaml")
    assert cca["params"]["n_permutations"] == 1000  # evaluation.permutations
    assert cca["params"]["n_components"] == 5  # analysis.n_components
    assert cca["params"]["modalities"] == ["genetics", "smri"]  # the plan's own roles
    assert cca["preprocessing"]["covariates"] == ["age", "sex", "icv"]  # centre: the site
    assert cca["cv"]["group_by"] == "centre" and cca["outcome"] == "mdd"
    assert cca["data"]["subjects"] == {"dataset": "adult_covariates"}
    partial = load(migrated / "configs/experiments/04_partial_correlations.yaml")
    assert partial["params"]["outcomes"] == [{"column": "phq9", "type": "continuous"}]
    assert partial["cv"] == {"scheme": "group_kfold", "n_splits": 5, "group_by": "centre"}
    dims = load(migrated / "configs/experiments/06_smri_pca_dimsearch_template.yaml")
    assert dims["params"]["dims"] == [16, 32, 64, 128] and dims["status"] == "template"
