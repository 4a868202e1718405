"""Command line: parse arguments, call one keyword-only function, print, return an exit code.

Exit codes: 0 success; 1 the job ran but found problems (ungraded submissions, a stale
release, failed validation); 2 bad usage or configuration.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Sequence

from autograder import __version__
from autograder.cli.format import format_intake, format_scores, format_summary
from autograder.config import GraderConfig, config_as_dict, load_config
from autograder.errors import AutograderError


def _config(args: argparse.Namespace) -> GraderConfig:
    config = load_config(Path(args.course_root) if args.course_root else None)
    if getattr(args, "assignment", None):
        config = dataclasses.replace(config, assignment=args.assignment)
    return config


def cmd_release(args: argparse.Namespace) -> int:
    from autograder.course.release import release

    config = _config(args)
    stale = release(config=config, check=args.check)
    target = config.course_root / "release" / config.assignment
    if args.check:
        if stale.source:
            print("Source notebooks whose header/footer cells differ from grader_config.py "
                  "(`autograder release` re-renders them):")
            print("\n".join(f"  {f}" for f in stale.source))
        if stale.release:
            print(f"release/{config.assignment} is stale; run `autograder release`. Differing files:")
            print("\n".join(f"  {f}" for f in stale.release))
        if stale:
            return 1
        print(f"release/{config.assignment} is up to date.")
        return 0
    if stale.source:
        print("Re-rendered the header/footer cells of " + ", ".join(stale.source))
    print(f"Released {target}" + (f" ({len(stale.release)} files changed)" if stale.release else " (unchanged)"))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from autograder.qa.validate import format_mutants, validate, write_mutant_csv

    report = validate(config=_config(args), notebooks=tuple(args.notebook or ()), mutants=not args.no_mutants,
                      mutants_only=args.mutants_only, mutant_ids=tuple(args.mutant or ()), workers=args.workers,
                      progress=not args.no_progress)
    if report.blank is not None and report.reference is not None:
        print(f"{'notebook':<22} {'test':<36} {'reference':>11} {'blank':>9}")
        for notebook, ref, blank in report.rows():
            print(f"{notebook:<22} {ref.test:<36} {ref.points:>5g} / {ref.max_points:<3g} {blank.points:>5g} / {blank.max_points:<3g}")
    if report.mutants:
        print("\n" + format_mutants(report))
        killed = sum(m.ok for m in report.mutants)
        print(f"{killed} of {len(report.mutants)} mutants killed.")
    if args.report:
        write_mutant_csv(report, Path(args.report))
        print(f"Mutant table written to {args.report}")
    print(f"Validated {', '.join(report.notebooks)} in {report.runtime_s:.0f} s.")
    if report.ok:
        parts = [f"the reference scores {report.reference.score:g}/{report.max_score:g}"] if report.reference else []
        parts += [f"the blank release {report.blank.score:g}"] if report.blank else []
        parts += [f"every mutant killed ({len(report.mutants)})"] if report.mutants else []
        print(f"OK: {', '.join(parts)}.")
        return 0
    print("Validation FAILED:")
    print("\n".join(f"  {p}" for p in report.problems))
    return 1


def cmd_check(args: argparse.Namespace) -> int:
    from autograder.course.selfcheck import main as selfcheck

    return selfcheck([args.notebook, "--timeout", str(args.timeout)] + (["--kernel", args.kernel] if args.kernel else []))


def cmd_grade(args: argparse.Namespace) -> int:
    from autograder.run.batch import default_workers, grade_path

    config = _config(args)
    executed = config.course_root / "autograded"
    report = grade_path(config=config, path=Path(args.path), students=tuple(args.student or ()),
                        executed_root=executed, progress=not args.no_progress, force=args.force,
                        workers=args.workers or default_workers(), scheduler=args.scheduler,
                        roster=Path(args.roster) if args.roster else None)
    print(format_scores(report.results, reasons=not args.quiet))
    intake = format_intake(report.results)
    if intake:
        print(intake)
    for entry in report.skipped:
        print(f"skipped {entry}")
    if report.unchanged:
        print(f"{len(report.unchanged)} submissions unchanged since they were graded; kept their grades "
              f"(use --force to re-run them).")
    print(format_summary(report))
    print(f"\nGraded {len(report.results)} submissions into {config.gradebook_url}; "
          f"{len(report.failed)} could not be graded, {len(report.skipped)} skipped.")
    return 0 if report.ok else 1


def cmd_collect(args: argparse.Namespace) -> int:
    from autograder.intake.collect import collect

    config = _config(args)
    result = collect(config=config, exchange_root=Path(args.exchange), update=not args.no_update)
    print(f"Collected {len(result.students)} submissions of {config.assignment} into {result.submitted_dir}: "
          + ", ".join(result.students))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from autograder.intake.canvas import load_roster
    from autograder.reports.export import export_canvas, export_csv, export_nbgrader

    config = _config(args)
    output = Path(args.output)
    if args.format == "nbgrader":
        count = export_nbgrader(config=config, output=output, assignment=args.assignment)
    elif args.format == "canvas":
        roster_path = Path(args.roster) if args.roster else config.roster_path
        if roster_path is None:
            raise AutograderError("the Canvas export needs a roster: --roster roster.csv or `roster` in grader_config.py")
        result = export_canvas(config=config, output=output, roster=load_roster(roster_path),
                               assignment=args.assignment, title=args.canvas_title, canvas_id=args.canvas_id)
        count = result.rows
        if result.unmatched:
            print(f"not in the roster, so not in the Canvas file: {', '.join(result.unmatched)}")
    else:
        count = export_csv(config=config, output=output, assignment=args.assignment)
    print(f"Wrote {count} rows to {args.output}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from autograder.reports.feedback import write_feedback

    config = _config(args)
    out = Path(args.output) if args.output else config.course_root / "feedback"
    pages = write_feedback(config=config, output_dir=out, assignment=args.assignment)
    print(f"Wrote {len(pages)} feedback pages under {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from autograder.cli.demo import run_demo

    return run_demo(config=_config(args), workdir=Path(args.workdir) if args.workdir else None,
                    progress=not args.no_progress)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from autograder.qa.calibrate import calibrate, markdown_table, write_record

    config = _config(args)
    records = calibrate(config=config, seeds=args.seeds, notebooks=args.notebooks or None,
                        report=lambda line: print(line, flush=True))
    out = Path(args.output) if args.output else config.course_root / "docs" / "calibration.json"
    write_record(records, out)
    print("\n" + markdown_table(records))
    print("\nproposed thresholds (grader_config.py):")
    for key, r in sorted(records.items()):
        print(f"  {key.split('/')[1]}.{r['metric']}: {r['proposed_threshold']}")
    print(f"\nwrote {out}")
    return 0


def cmd_similarity(args: argparse.Namespace) -> int:
    from autograder.reports.similarity import similar_pairs

    compared, pairs = similar_pairs(config=_config(args), path=Path(args.path), threshold=args.threshold)
    print(f"{compared} submissions compared; {len(pairs)} pairs at or above {args.threshold:g}")
    for p in pairs:
        print(f"  {p.a:<24} {p.b:<24} {p.similarity:.2f} ({p.shared} shared fingerprints)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from autograder.reports.report import write_report

    config = _config(args)
    out = Path(args.output) if args.output else config.course_root / "report.html"
    report = write_report(config=config, output=out, threshold=args.threshold,
                          submissions=Path(args.submissions) if args.submissions else None)
    print(f"Wrote the class report of {len(report.students)} submissions to {out}")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from autograder.data.download import cache_dir, fetch
    from autograder.data.registry import REGISTRY

    config = _config(args)
    names = args.names or sorted(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        print(f"autograder: unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}",
              file=sys.stderr)
        return 2
    cache = cache_dir(config.data.cache_dir)
    for name in names:
        path = fetch(REGISTRY[name], cache=cache, mirror_url=config.data.mirror_url)
        print(f"{name:<14} {path} ({path.stat().st_size:,} bytes, verified)")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    config = _config(args)
    print(json.dumps({"course_root": str(config.course_root), "digest": config.digest,
                      **config_as_dict(config)}, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"autograder {__version__}")
    parser.add_argument("--course-root", help="folder with grader_config.py (default: search upwards from cwd)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = add("release", cmd_release, "Generate release/<assignment> from source/ with nbgrader.")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if release/ is stale")
    p.add_argument("--assignment", help="assignment folder (default: from grader_config.py)")

    p = add("validate", cmd_validate, "Check that the reference scores full marks, the blank release 0, "
                                      "and every mutant in mutants/ loses points on the tests it targets.")
    p.add_argument("--assignment")
    p.add_argument("--notebook", action="append", help="validate only this notebook (repeatable)")
    p.add_argument("--mutants-only", action="store_true", help="skip the blank release; grade reference and mutants")
    p.add_argument("--no-mutants", action="store_true", help="only the reference and the blank release")
    p.add_argument("--mutant", action="append", help="grade only this mutant id (repeatable)")
    p.add_argument("--report", help="write the mutant table to this CSV file")
    p.add_argument("--workers", type=int, default=0, help="notebooks graded at once (default: number of cores)")
    p.add_argument("--no-progress", action="store_true")

    p = add("check", cmd_check, "Student self-check: run a saved notebook's visible tests and say what to fix.")
    p.add_argument("notebook", help="the saved .ipynb file")
    p.add_argument("--timeout", type=float, default=600, help="seconds per cell")
    p.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's own)")

    p = add("grade", cmd_grade, "Grade submissions (nbgrader submitted/ layout, folder, or .zip).")
    p.add_argument("path", help="submitted/ folder, a folder of <student>.ipynb, or a .zip of either")
    p.add_argument("--assignment")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--quiet", action="store_true", help="totals only, no per-test reasons")
    p.add_argument("--force", action="store_true", help="re-run submissions even when unchanged since grading")
    p.add_argument("--workers", type=int, default=0, help="submissions graded at once (default: number of cores)")
    p.add_argument("--scheduler", help="run on a Dask cluster: tcp://HOST:PORT of its scheduler")
    p.add_argument("--roster", help="CSV mapping LMS (Canvas) users to student ids (default: roster in grader_config.py)")
    p.add_argument("--no-progress", action="store_true")

    p = add("collect", cmd_collect, "Collect submissions from nbgrader's exchange into submitted/ (nbgrader collect).")
    p.add_argument("--exchange", required=True, help="the exchange root (nbgrader's Exchange.root)")
    p.add_argument("--no-update", action="store_true", help="keep submissions already collected")
    p.add_argument("--assignment")

    p = add("export", cmd_export, "Export grades from the gradebook.")
    p.add_argument("--format", choices=["long", "csv", "nbgrader", "canvas"], default="long",
                   help="long: one row per test (csv is the same); nbgrader: `nbgrader export`'s CSV; "
                        "canvas: Canvas gradebook import")
    p.add_argument("--output", required=True, help="file to write")
    p.add_argument("--roster", help="canvas: the roster (default: roster in grader_config.py)")
    p.add_argument("--canvas-id", default="", help="canvas: the Canvas assignment id (from its URL)")
    p.add_argument("--canvas-title", help="canvas: the assignment title in Canvas (default: the assignment)")
    p.add_argument("--assignment")

    p = add("feedback", cmd_feedback, "Write one HTML feedback page per student and notebook.")
    p.add_argument("--output", help="folder (default: feedback/ in the course root)")
    p.add_argument("--assignment")

    p = add("demo", cmd_demo, "Release, grade the bundled sample submissions, print the scores.")
    p.add_argument("--workdir", help="where the demo writes (default: .demo/ in the course root)")
    p.add_argument("--no-progress", action="store_true")

    p = add("calibrate", cmd_calibrate, "Train the reference over several seeds; record metrics, propose thresholds.")
    p.add_argument("--seeds", type=int, nargs="+", default=[1234, 1, 2])
    p.add_argument("--notebooks", nargs="*", help="default: every notebook that trains a model")
    p.add_argument("--output", help="record file (default: docs/calibration.json)")
    p.add_argument("--assignment")

    p = add("similarity", cmd_similarity, "List pairs of students with unusually similar answers.")
    p.add_argument("path", help="the submissions, as for `grade`")
    p.add_argument("--threshold", type=float, default=0.6, help="share of fingerprints in common (0-1)")
    p.add_argument("--assignment")

    p = add("report", cmd_report, "Write the class report: one self-contained HTML file with charts and flags.")
    p.add_argument("--output", help="file to write (default: report.html in the course root)")
    p.add_argument("--submissions", help="the submissions, as for `grade`: also list similar pairs")
    p.add_argument("--threshold", type=float, default=0.6, help="similarity threshold, as for `similarity`")
    p.add_argument("--assignment")

    p = add("data", None, "Datasets: prefetch the canonical files into the cache.")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    fetch = data_sub.add_parser("fetch", help="download and verify datasets (default: all)")
    fetch.add_argument("names", nargs="*", help="imdb, shakespeare, jena_climate")
    fetch.set_defaults(func=cmd_data_fetch)

    add("config", cmd_config, "Print the validated configuration in force.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except AutograderError as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograder: interrupted; every grade recorded so far is kept.", file=sys.stderr)
        return 130
