"""Every rule ``kbtools validate`` applies: stable id, severity and what it checks.

The docs' rule table and the tests are built against this list, so a new rule is added here first.
Design rules (``design.*``) come from :mod:`kbtools.config_rules.design_checks`; not listed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    checks: str
    fix: str


RULES: tuple[Rule, ...] = (
    Rule("yaml.syntax", "error", "the file parses as YAML (one document, spaces not tabs)",
         "fix the line shown; indent with spaces"),
    Rule("yaml.duplicate-key", "error", "no mapping repeats a key",
         "keep one entry per key"),
    Rule("yaml.unsafe-tag", "error", "no YAML tags (!!python/..., !!binary, !custom)",
         "write plain values"),
    Rule("yaml.key", "error", "mapping keys are text", "quote the key"),
    Rule("yaml.too-large", "error",
         "file under 5 MB, expands to under 200,000 nodes (no alias bombs), nests under 200 levels",
         "split the file or write values out instead of aliases"),
    Rule("yaml.encoding", "error", "the file is UTF-8 text", "save it as UTF-8"),
    Rule("yaml.empty", "error", "the file is not empty", "write the card, e.g. with `kbtools new`"),
    Rule("yaml.not-mapping", "error", "the top level is a mapping of fields",
         "write `field: value` lines, not a list"),
    Rule("schema", "error", "the document matches its kind's JSON Schema",
         "follow the message; `kbtools schema show KIND` lists the fields"),
    Rule("schema.extension", "error",
         "the KB's extension file (kb/schemas/extensions.yaml) declares valid JSON Schemas for "
         "known card kinds, adding fields without redefining built-in ones",
         "follow the message; see the KB guide on extension fields"),
    Rule("schema.params", "error",
         "experiment `params` match kbtools/schemas/method_params/<method>.schema.json",
         "follow the message"),
    Rule("id.filename", "error", "`id` equals the file name (run folder name for runs)",
         "rename the file or change the id"),
    Rule("id.duplicate", "error",
         "ids are unique across models, papers, datasets, registries and experiments, and "
         "registry entry ids are unique per registry kind",
         "rename one of them"),
    Rule("ref.model", "error", "referenced model ids have a card in kb/model_cards/",
         "fix the id or add the card"),
    Rule("ref.paper", "error", "referenced paper ids have a card in kb/paper_cards/",
         "fix the id or add the card"),
    Rule("ref.dataset", "error", "referenced dataset ids have a card in kb/datasets/",
         "fix the id or add the card"),
    Rule("ref.experiment", "error", "a run's experiment has a config in configs/experiments/",
         "fix the id or restore the config"),
    Rule("ref.strategy", "error",
         "embedding strategy ids are entries of the `registry: embedding_strategies` registry",
         "fix the id or add the entry"),
    Rule("ref.integration", "error",
         "model integrations.pipelines ids are entries of some registry (pipelines, alignment "
         "strategies, preprocessing pipelines, ...)",
         "fix the id or add the entry"),
    Rule("ref.harmonization", "error",
         "harmonization ids are entries of the `registry: harmonization_methods` registry",
         "fix the id or add the entry"),
    Rule("ref.backlink", "error",
         "paper.models and model.papers agree: each side lists the other",
         "add the missing id on the other card (or drop the one-sided link)"),
    Rule("ref.table", "error",
         "an experiment's data table exists in the dataset card's storage.tables",
         "use one of the dataset's table names"),
    Rule("path.missing", "error",
         "local files (paper pdf, summary_md_path, relative dataset table paths, fields the KB "
         "declares with format: kb-path) exist",
         "fix the path (relative to the KB root) or add the file"),
    Rule("path.outside-kb", "error",
         "local paths named in cards stay inside the KB root (no ../, no absolute paper files)",
         "use a path inside the KB; data outside it take an absolute path"),
    Rule("path.symlink-outside", "error",
         "no file kbtools reads or copies (card, config, run file, plot, path named in a card) "
         "or the site publishes (docs_dir, theme custom_dir, page templates) is a symlink, or "
         "lies in a symlinked folder, whose target is outside the KB root",
         "replace the symlink with a copy of the file, or remove it"),
    Rule("path.symlink-loop", "error",
         "no such file or folder is a symlink that leads back to itself (directly, through "
         "other links, or a folder symlink to a folder it sits in)",
         "remove the symlink, or point it at a file inside the KB"),
    Rule("path.symlink-broken", "error",
         "no such file is a symlink to a file that does not exist",
         "remove the symlink, or replace it with the file"),
    Rule("path.hardlink", "error",
         "no such file is a hard link (a file with other names, which may be outside the KB)",
         "replace it with a copy of its own"),
    Rule("lint.todo", "error", "no TBD/TODO/FIXME/XXX in values unless `status: template`",
         "write the value, or leave the field out"),
    Rule("lint.template", "warning", "cards with `status: template` are flagged as unfinished",
         "fill the card in and set status to draft or complete"),
    Rule("lint.future-date", "error", "last_updated and verification.date are not in the future",
         "use today's date or earlier"),
    Rule("lint.url", "error", "URL values are well-formed http(s) URLs",
         "write the full URL, https://host/path, without spaces"),
    Rule("lint.https", "warning", "URLs use https", "use https:// if the site supports it"),
    Rule("lint.doi", "error", "DOIs are bare `10.NNNN/suffix`",
         "drop the https://doi.org/ or doi: prefix"),
    Rule("lint.verified", "error", "`verified: true` comes with verification.by and .date",
         "say who (a role) verified it and when, or set verified: false"),
    Rule("text.unsafe-markup", "error",
         "card text carries no live markup: javascript:/vbscript:/data: links, raw HTML that "
         "runs script (<script>, <svg>, on...= handlers), {: on...=} attribute lists, "
         "--8<-- snippet includes (entities decoded first)",
         "write plain text; links only as https://, mailto: or relative paths"),
    Rule("kb.unknown-file", "warning",
         "YAML files in card folders follow the naming pattern (<id>.yaml)",
         "rename it to <id>.yaml or move it out of the card folder"),
    Rule("kb.staging-leftover", "warning",
         "no staging folder (kb/.run-staging-*) of a run that was killed is left behind",
         "the next run-experiment removes it; or delete the folder"),
    Rule("internal", "error", "a check crashed on this file (a kbtools bug)",
         "report it with the file"),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}
