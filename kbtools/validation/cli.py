"""Subcommands ``validate``, ``schema`` and ``new``.

Only argparse is imported here; each handler imports what it needs, so ``kbtools --help``
and the other subcommands stay fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kbtools.errors import EXIT_OK, EXIT_PROBLEMS, KBRootNotFound, KBToolsError

FORMATS = ("text", "json", "github")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate", help="check cards, configs and run logs (schema, ids, references, lint)",
        description="Validate the KB, or only the given files (references still resolve "
                    "against the whole KB). Exit 0: no errors; 1: errors found; 2: usage error.")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="cards, configs, run logs or folders (default: the whole KB)")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (default), json, or github (workflow annotations)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="worker processes (default: one per CPU, used above 200 files)")
    p.set_defaults(handler=run_validate)

    s = subparsers.add_parser("schema", help="list, show or export the JSON Schemas",
                              description="The JSON Schemas (Draft 2020-12) shipped with kbtools.")
    ss = s.add_subparsers(dest="schema_command", metavar="ACTION", required=True)
    ss.add_parser("list", help="schema names and the documents they apply to"
                  ).set_defaults(handler=run_schema_list)
    show = ss.add_parser("show", help="print one schema (with the KB's extensions, if any)")
    show.add_argument("kind", metavar="KIND",
                      help="schema name (model_card, ...) or kind (model, paper, dataset, ...)")
    show.add_argument("--builtin", action="store_true",
                      help="the shipped schema, without the KB's extensions")
    show.set_defaults(handler=run_schema_show)
    export = ss.add_parser(
        "export", help="write every schema as DIR/<name>.schema.json (for editors)",
        description="Write every schema as DIR/<name>.schema.json. Inside a KB that declares "
                    "its own fields (kb/schemas/extensions.yaml), the card schemas written are "
                    "the merged ones, so editors accept those fields too.")
    export.add_argument("dir", type=Path, metavar="DIR")
    export.add_argument("--force", action="store_true",
                        help="replace schema files in DIR that differ from the ones written")
    export.add_argument("--builtin", action="store_true",
                        help="the shipped schemas, without the KB's extensions")
    export.set_defaults(handler=run_schema_export)

    n = subparsers.add_parser(
        "new", help="write a new card from a template",
        description="Write kb/<folder>/ID.yaml (or configs/experiments/ID.yaml) from the "
                    "template of KIND, with status: template. Never overwrites a file.")
    n.add_argument("kind", choices=("model", "paper", "dataset", "registry", "experiment"))
    n.add_argument("id", metavar="ID", help="the card id, which is also its file name")
    n.add_argument("--method", metavar="METHOD",
                   help="experiments: write a config that runs as it is (status: draft) for "
                        "this analysis method: cca_permutation, prediction_baselines, "
                        "logo_gene_attribution, partial_correlations, harmonization_ablation "
                        "or pca_dimension_search")
    n.set_defaults(handler=run_new)


def _root(args: argparse.Namespace, near: Path | None = None) -> Path:
    from kbtools.kb import find_kb_root

    if args.kb_root is None and near is not None:
        try:
            return find_kb_root(start=Path.cwd())
        except KBToolsError:
            return find_kb_root(start=Path(os.path.abspath(near)).parent)
    return find_kb_root(explicit=Path(args.kb_root) if args.kb_root else None)


def run_validate(args: argparse.Namespace) -> int:
    from kbtools.validation.engine import validate_kb
    from kbtools.validation.reporters import REPORTERS, printable

    if args.jobs is not None and args.jobs < 0:
        raise KBToolsError("--jobs must be 0 (automatic) or more")
    root = _root(args, args.paths[0] if args.paths else None)
    result = validate_kb(root, args.paths or None, jobs=args.jobs or None)
    if not args.paths and result.n_files == 0:
        raise KBRootNotFound(
            f"no knowledge base found at {root}: no card, config or run in kb/ or "
            "configs/experiments/", hint="pass --kb-root DIR for the folder that holds kb/ "
                                         "(or run inside it); `kbtools new KIND ID` starts a card")
    if args.format != "json":
        for note in result.notes:
            print(printable(f"note: {note}"), file=sys.stderr)
    REPORTERS[args.format](result, sys.stdout)
    return EXIT_OK if result.ok else EXIT_PROBLEMS


def _schema_name(kind: str) -> str:
    from kbtools.kb import KINDS_BY_NAME
    from kbtools.schemas import SCHEMA_NAMES

    name = kind.removesuffix(".schema.json")
    if name in SCHEMA_NAMES:
        return name
    if name in KINDS_BY_NAME:
        return KINDS_BY_NAME[name].schema
    kinds = ", ".join([*SCHEMA_NAMES, *KINDS_BY_NAME])
    raise KBToolsError(f"unknown schema or kind {kind!r}", hint=f"use one of: {kinds}")


def run_schema_list(args: argparse.Namespace) -> int:
    from kbtools.kb import KINDS
    from kbtools.schemas import SCHEMA_NAMES, load_schema

    for name in SCHEMA_NAMES:
        kinds = [k for k in KINDS if k.schema == name]
        where = ", ".join(f"{k.name} ({k.pattern})" for k in kinds)
        print(f"{name:22} {load_schema(name).get('title', '')}: {where}")
    return EXIT_OK


def _kb_schema_texts(args: argparse.Namespace) -> dict[str, str]:
    """Merged schema texts of the KB's extended kinds (empty outside a KB or with --builtin)."""
    import json

    from kbtools.schemas.extensions import load_kb_schemas

    if args.builtin:
        return {}
    try:
        root = _root(args)
    except KBToolsError:
        return {}
    kb = load_kb_schemas(root)
    for problem in kb.problems:
        print(f"warning: {kb.file}: {problem.message} (left out of the schemas)",
              file=sys.stderr)
    return {name: json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
            for name, schema in kb.merged.items()}


def run_schema_show(args: argparse.Namespace) -> int:
    import json

    from kbtools.schemas import method_params_schema, schema_text

    if args.kind.startswith("method_params/"):  # a method's parameters
        params = method_params_schema(args.kind.split("/", 1)[1].removesuffix(".schema.json"))
        if params is None:
            raise KBToolsError(f"no parameter schema {args.kind!r}",
                               hint="kbtools schema show method_params/METHOD, e.g. "
                                    "method_params/cca_permutation")
        sys.stdout.write(json.dumps(params, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    name = _schema_name(args.kind)
    sys.stdout.write(_kb_schema_texts(args).get(name) or schema_text(name))
    return EXIT_OK


def run_schema_export(args: argparse.Namespace) -> int:
    from importlib import resources

    from kbtools.schemas import SCHEMA_NAMES, schema_text

    merged = _kb_schema_texts(args)
    files = {f"{name}.schema.json": merged.get(name) or schema_text(name)
             for name in SCHEMA_NAMES}
    params = resources.files("kbtools.schemas").joinpath("method_params")
    if params.is_dir():
        for entry in sorted(params.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".schema.json"):
                files[f"method_params/{entry.name}"] = entry.read_text("utf-8")
    out = Path(args.dir)
    if out.exists() and not out.is_dir():
        raise KBToolsError(f"{out} exists and is not a folder")
    clash = [n for n, text in files.items()
             if (out / n).exists() and (out / n).read_text("utf-8") != text]
    if clash and not args.force:
        raise KBToolsError(f"{len(clash)} file(s) in {out} differ from the schemas to write "
                           f"({', '.join(clash[:3])}{', ...' if len(clash) > 3 else ''})",
                           hint="pass --force to replace them")
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    extended = f" ({len(merged)} with this KB's extensions)" if merged else ""
    print(f"wrote {len(files)} schema files to {out}{extended}")
    return EXIT_OK


def run_new(args: argparse.Namespace) -> int:
    from kbtools.validation.engine import validate_kb
    from kbtools.validation.reporters import report_text
    from kbtools.validation.scaffold import new_card

    root = _root(args)
    path = new_card(root, args.kind, args.id, method=args.method)
    rel = path.relative_to(root).as_posix()
    if args.method:
        print(f"wrote {rel} (status: draft; it runs as it is: kbtools run-experiment {rel})")
    else:
        print(f"wrote {rel} (status: template; fill it in, then set status to draft or "
              "complete)")
    result = validate_kb(root, [path], jobs=1)
    errors = [p for p in result.problems if p.is_error]
    if errors:
        report_text(result, sys.stdout)
        return EXIT_PROBLEMS
    return EXIT_OK
