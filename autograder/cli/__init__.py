"""Command line: parse arguments, call one keyword-only function, print, return an exit code.

Exit codes: 0 success; 1 the job ran but found problems (ungraded submissions, a stale
release, failed validation); 2 bad usage or configuration, and nothing to do: `autograder`
without a command prints the commands and examples and exits with 2, as argparse does for a
missing argument (`--help` exits with 0); export, feedback, report and scores exit with 2 when
the gradebook holds nothing for them or --assignment / --student names nothing graded.

Scale: `grade` prints one line per student and a summary of at most a dozen lines (300 students
fit in about 320 lines); every lost test with its reason is behind `grade --details` and
`autograder scores`, which reads the recorded grades back (gradebook.recorded_results).
Options shared by several commands (--assignment, --no-progress) are declared once, in parent
parsers.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import sys
from pathlib import Path
from typing import Sequence

from autograder import __version__
from autograder.cli.format import (
    format_intake,
    format_scores,
    format_serve_event,
    format_serve_status,
    format_students,
    format_summary,
)
from autograder.config import GraderConfig, config_as_dict, load_config
from autograder.errors import AutograderError, SubmissionError


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
            shown = f"{'manual':>5} / {ref.max_points:<3g}" if ref.needs_manual_grade else f"{ref.points:>5g} / {ref.max_points:<3g}"
            print(f"{notebook:<22} {ref.test:<36} {shown} {blank.points:>5g} / {blank.max_points:<3g}")
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
        parts += [f"manually graded (a TA's grade, not validated): {', '.join(t for _, t in report.manual)}"] \
            if report.manual else []
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
    if not Path(args.path).exists():    # named before the release check, which reads every notebook
        raise SubmissionError(f"{args.path} does not exist")
    if not _release_is_current(config, allow_stale=args.allow_stale):
        return 1
    executed = config.course_root / "autograded"
    report = grade_path(config=config, path=Path(args.path), students=tuple(args.student or ()),
                        executed_root=executed, progress=not args.no_progress, force=args.force,
                        workers=args.workers or default_workers(), scheduler=args.scheduler,
                        roster=Path(args.roster) if args.roster else None)
    if args.details:
        print(format_scores(report.results, reasons=True))
        intake = format_intake(report.results)
        if intake:
            print(intake)
    elif not args.quiet:
        print(format_students(report.results))
    if report.unwrapped:
        print(f"intake: the submissions are in {'/'.join(report.unwrapped)}/ (wrapper folders stripped)")
    for entry in report.skipped:
        print(f"skipped {entry}")
    if report.unmatched_files:
        print(f"{len(report.unmatched_files)} notebook files match no notebook of {config.assignment} and were "
              f"not graded (rename or move them, then grade again):")
        print("\n".join(f"  unmatched {u.student}: {u.path}: {u.why}" for u in report.unmatched_files))
    if report.unchanged:
        print(f"{len(report.unchanged)} submissions unchanged since they were graded; kept their grades "
              f"(use --force to re-run them).")
    print(format_summary(report))
    print(f"\nGraded {len(report.results)} submissions into {config.gradebook_url}; "
          f"{len(report.failed)} could not be graded, {len(report.skipped)} skipped, "
          f"{len(report.unmatched_files)} files unmatched.")
    if not args.details and report.results:
        print("Every lost test with its reason: `autograder scores --student S` (or `grade --details`).")
    return 0 if report.ok else 1


def _release_is_current(config: GraderConfig, *, allow_stale: bool) -> bool:
    """Whether grading may go on: release/ matches source/ (as `release --check` says), or
    --allow-stale was given (then a warning names the risk)."""
    from autograder.course.release import check_release

    stale = check_release(config=config)
    if not stale:
        return True
    files = ", ".join(stale.changed[:6]) + (f" (+{len(stale.changed) - 6} more)" if len(stale.changed) > 6 else "")
    risk = ("students may be graded on tests, points or hidden tests they were never given, "
            "or against answer cells their release did not have")
    if not allow_stale:
        print(f"autograder: release/{config.assignment} is stale against source/ ({files}): {risk}. "
              f"Run `autograder release` (and hand the new release out), or grade anyway with --allow-stale.",
              file=sys.stderr)
        return False
    print(f"WARNING: release/{config.assignment} is stale against source/ ({files}); grading anyway "
          f"(--allow-stale): {risk}.", file=sys.stderr)
    return True


def _close(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def _graded_students(config: GraderConfig, *, assignment: str | None, students: Sequence[str] = ()) -> set[str]:
    """The students with a recorded grade of `assignment` (any assignment when None), after refusing,
    with the reason, what would write nothing: no gradebook, an empty one, an --assignment it has no
    grade of, a --student it has no grade of (with a did-you-mean)."""
    from autograder.gradebook import open_gradebook

    path = config.gradebook_path
    if path is not None and not path.is_file():
        raise AutograderError(f"there is no gradebook at {path}: nothing to write; run `autograder grade` first")
    with open_gradebook(config) as gb:
        subs = gb.submissions()
    if not subs:
        raise AutograderError(f"the gradebook {config.gradebook_url} has no graded submissions: nothing to write; "
                              f"run `autograder grade` first")
    assignments = sorted({s.assignment for s in subs})
    if assignment is not None and assignment not in assignments:
        raise AutograderError(f"--assignment {assignment}: the gradebook has no grade of it (graded: "
                              f"{', '.join(assignments)}).{_close(assignment, assignments)}")
    graded = {s.student for s in subs if assignment is None or s.assignment == assignment}
    unknown = [s for s in students if s not in graded]
    if unknown:
        where = f" of {assignment}" if assignment else ""
        raise AutograderError("; ".join(f"--student {s}: the gradebook has no grade{where} for this student."
                                        f"{_close(s, graded)}" for s in unknown)
                              + f" ({len(graded)} students graded)")
    return set(students) if students else graded


def cmd_scores(args: argparse.Namespace) -> int:
    from autograder.gradebook import open_gradebook, recorded_results

    config = _config(args)
    students = tuple(args.student or ())
    _graded_students(config, assignment=config.assignment, students=students)
    with open_gradebook(config) as gb:
        results = recorded_results(gb, assignment=config.assignment, students=students)
    if args.brief:
        print(format_students(results))
    else:
        print(format_scores(results, reasons=True))
        intake = format_intake(results)
        if intake:
            print(intake)
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from autograder.intake.collect import collect

    config = _config(args)
    result = collect(config=config, exchange_root=Path(args.exchange), update=not args.no_update)
    print(f"Collected {len(result.students)} submissions of {config.assignment} into {result.submitted_dir}: "
          + ", ".join(result.students))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from autograder.serve.queue import JobQueue, JobState
    from autograder.serve.service import FeedbackService, inbound_dir, queue_path

    config = _config(args)
    if args.status:
        path = queue_path(config)
        if not path.is_file():
            raise AutograderError(f"no serve queue at {path}: `autograder serve --exchange DIR` has not run here")
        with JobQueue(path) as queue:
            status = queue.status()
        print(format_serve_status(status, path))
        return 0
    if not args.exchange:
        raise AutograderError("serve needs --exchange DIR (nbgrader's Exchange.root), or --status")
    inbound = inbound_dir(config, Path(args.exchange))
    if not inbound.is_dir():          # named before the release check, which reads every notebook
        raise AutograderError(f"no nbgrader exchange for course '{config.course_id}' under {args.exchange} "
                              f"({inbound} does not exist)")
    if not _release_is_current(config, allow_stale=False):
        return 1
    from autograder.run.batch import default_workers

    import signal
    import threading

    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        print(f"{_now()} stopping     ({signal.Signals(signum).name}): the running jobs finish, the rest stay "
              f"queued", flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service = FeedbackService(config, Path(args.exchange), workers=args.workers or default_workers(),
                              on_event=lambda event: print(format_serve_event(event), flush=True))
    service.run(stop, until_idle=args.once)
    with JobQueue(queue_path(config)) as queue:
        failed = len(queue.jobs(JobState.FAILED))
    return 1 if args.once and failed else 0


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def cmd_export(args: argparse.Namespace) -> int:
    from autograder.intake.canvas import load_roster
    from autograder.reports.export import export_canvas, export_csv, export_nbgrader

    config = _config(args)
    output = Path(args.output)
    students = tuple(args.student or ())
    if args.format == "canvas":        # one column of one assignment: the configured one by default
        graded = _graded_students(config, assignment=config.assignment, students=students)
        roster_path = Path(args.roster) if args.roster else config.roster_path
        if roster_path is None:
            raise AutograderError("the Canvas export needs a roster: --roster roster.csv or `roster` in grader_config.py")
        roster = load_roster(roster_path)
        if not graded & {e.student_id for e in roster.entries}:
            raise AutograderError(f"none of the {len(graded)} graded students of {config.assignment} is in the roster "
                                  f"{roster_path}: the Canvas file would have no score; nothing written")
        if students:
            roster = dataclasses.replace(roster, entries=tuple(e for e in roster.entries if e.student_id in graded))
        result = export_canvas(config=config, output=output, roster=roster,
                               assignment=config.assignment, title=args.canvas_title, canvas_id=args.canvas_id)
        count = result.rows
        unmatched = [s for s in result.unmatched if not students or s in graded]
        if unmatched:
            print(f"not in the roster, so not in the Canvas file: {', '.join(unmatched)}")
        if result.pending:
            print(f"answers still wait for a TA (their scores can rise): {', '.join(result.pending)}")
    else:
        _graded_students(config, assignment=args.assignment, students=students)
        write = export_nbgrader if args.format == "nbgrader" else export_csv
        count = write(config=config, output=output, assignment=args.assignment, students=students)
    if count == 0:
        raise AutograderError(f"no rows to write for the selection; {args.output} holds only the header")
    print(f"Wrote {count} rows to {args.output}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from autograder.reports.feedback import write_feedback

    config = _config(args)
    out = Path(args.output) if args.output else config.course_root / "feedback"
    students = tuple(args.student or ())
    _graded_students(config, assignment=args.assignment, students=students)
    pages = write_feedback(config=config, output_dir=out, assignment=args.assignment, students=students)
    if not pages:
        raise AutograderError("the gradebook has no graded notebooks for the selection: no feedback page written")
    print(f"Wrote {len(pages)} feedback pages under {out}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from autograder.gradebook import open_gradebook

    config = _config(args)
    path = config.gradebook_path
    if path is not None and not path.is_file():
        raise AutograderError(f"there is no gradebook at {path}: nothing to remove")
    with open_gradebook(config) as gb:
        for student in args.student:
            try:
                removed = gb.remove(student, args.assignment)
            except KeyError:
                where = f" of {args.assignment}" if args.assignment else ""
                raise AutograderError(f"--student {student}: the gradebook has no submission{where} of this "
                                      f"student; nothing removed") from None
            print(f"Removed {student}" + (f"'s submission of {args.assignment}" if args.assignment else
                                          f" and {removed} submission(s)") + " (nbgrader's rows and the autograder's)")
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
    _graded_students(config, assignment=config.assignment)
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
    print(json.dumps({"course_root": str(config.course_root), "grade_digest": config.grade_digest,
                      "presentation_digest": config.presentation_digest,
                      **config_as_dict(config)}, indent=2, default=str))
    return 0


DESCRIPTION = "Release, grade and report the nbgrader exercise notebooks of the RNN week."
EXAMPLES = """\
examples:
  autograder release                          regenerate release/ from source/ (and --check it in CI)
  autograder grade submitted/                 grade a batch: one line per student, failures summarised
  autograder grade batch.zip --details        ... with every lost test and its reason
  autograder scores --student alice           print one student's recorded grades again, test by test
  autograder export --format canvas --output grades.csv
  autograder feedback --student alice         feedback/alice/<assignment>/<notebook>.html
  autograder remove --student bob             delete bob from the gradebook (nbgrader's rows and ours)
  autograder check 01_rnn_basics.ipynb        a student's self-check of a saved notebook
  autograder serve --exchange /srv/nbgrader/exchange
                                              grade each `nbgrader submit` as it arrives; feedback for fetch_feedback
  autograder COMMAND --help                   every option of one command

Run without a command, autograder prints this help and exits with 2 (usage error, as argparse does
for a missing argument); `autograder --help` exits with 0.
"""


def _assignment_parent() -> argparse.ArgumentParser:
    """The one declaration of --assignment, shared by every command that takes it (argparse parents)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--assignment", metavar="A",
                        help="assignment folder under source/ and release/ (default: `assignment` in grader_config.py)")
    return parent


def _progress_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--no-progress", action="store_true", help="no progress bar (for logs and CI)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"autograder {__version__}",
                        help="print the version and exit")
    parser.add_argument("--course-root", metavar="DIR",
                        help="folder with grader_config.py (default: search upwards from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    assignment, progress = _assignment_parent(), _progress_parent()

    def add(name: str, func, help: str, *parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=list(parents))
        p.set_defaults(func=func)
        return p

    p = add("release", cmd_release, "Generate release/<assignment> from source/ with nbgrader.", assignment)
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if release/ or the source's header/footer cells are stale")

    p = add("validate", cmd_validate, "Check that the reference scores full marks, the blank release 0, "
                                      "and every mutant in mutants/ loses points on the tests it targets.",
            assignment, progress)
    p.add_argument("--notebook", action="append", help="validate only this notebook (repeatable)")
    p.add_argument("--mutants-only", action="store_true", help="skip the blank release; grade reference and mutants")
    p.add_argument("--no-mutants", action="store_true", help="only the reference and the blank release")
    p.add_argument("--mutant", action="append", help="grade only this mutant id (repeatable)")
    p.add_argument("--report", help="write the mutant table to this CSV file")
    p.add_argument("--workers", type=int, default=0, help="notebooks graded at once (default: number of cores)")

    p = add("check", cmd_check, "Student self-check: run a saved notebook's visible tests and say what to fix.")
    p.add_argument("notebook", help="the saved .ipynb file")
    p.add_argument("--timeout", type=float, default=600, help="seconds per cell (default 600)")
    p.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's own)")

    p = add("grade", cmd_grade, "Grade submissions (nbgrader submitted/ layout, folder, or .zip); "
                                "print one line per student.", assignment, progress)
    p.add_argument("path", help="submitted/ folder, a folder of <student>.ipynb, or a .zip of either")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--details", action="store_true",
                   help="also print every lost test with its reason, and the intake notes (as `autograder scores`)")
    p.add_argument("--quiet", action="store_true", help="no per-student lines: only the failures and the totals")
    p.add_argument("--force", action="store_true", help="re-run submissions even when unchanged since grading")
    p.add_argument("--workers", type=int, default=0, help="submissions graded at once (default: number of cores)")
    p.add_argument("--scheduler", help="run on a Dask cluster: tcp://HOST:PORT of its scheduler")
    p.add_argument("--roster", help="CSV mapping LMS (Canvas) users to student ids (default: roster in grader_config.py)")
    p.add_argument("--allow-stale", action="store_true",
                   help="grade even when release/ is stale against source/ (`autograder release --check` fails): "
                        "students are then graded on tests they may never have received")

    p = add("scores", cmd_scores, "Print recorded grades again from the gradebook, test by test, with reasons.",
            assignment)
    p.add_argument("--student", action="append", help="only this student (repeatable; default: every student)")
    p.add_argument("--brief", action="store_true", help="one line per student, as `grade` prints them")

    p = add("collect", cmd_collect, "Collect submissions from nbgrader's exchange into submitted/ (nbgrader collect).",
            assignment)
    p.add_argument("--exchange", required=True, help="the exchange root (nbgrader's Exchange.root)")
    p.add_argument("--no-update", action="store_true", help="keep submissions already collected")

    p = add("serve", cmd_serve, "Grade each submission as it arrives in nbgrader's exchange and release its "
                                "feedback for `nbgrader fetch_feedback`; one log line per event.", assignment)
    p.add_argument("--exchange", help="the exchange root (nbgrader's Exchange.root) whose inbound folder is watched")
    p.add_argument("--workers", type=int, default=0, help="notebooks graded at once (default: number of cores)")
    p.add_argument("--once", action="store_true",
                   help="grade what is queued or waiting, then stop (exit 1 if any job failed)")
    p.add_argument("--status", action="store_true",
                   help="print the queue (queued, running, graded, refused, failed) and the last error, then exit")

    p = add("export", cmd_export, "Export grades from the gradebook.", assignment)
    p.add_argument("--format", choices=["long", "csv", "nbgrader", "canvas"], default="long",
                   help="long: one row per test (csv is the same); nbgrader: `nbgrader export`'s CSV; "
                        "canvas: Canvas gradebook import")
    p.add_argument("--output", required=True, help="file to write")
    p.add_argument("--student", action="append", help="only this student (repeatable; default: every student)")
    p.add_argument("--roster", help="canvas: the roster (default: roster in grader_config.py)")
    p.add_argument("--canvas-id", default="", help="canvas: the Canvas assignment id (from its URL)")
    p.add_argument("--canvas-title", help="canvas: the assignment title in Canvas (default: the assignment)")

    p = add("feedback", cmd_feedback, "Write one HTML feedback page per student and notebook.", assignment)
    p.add_argument("--output", help="folder (default: feedback/ in the course root)")
    p.add_argument("--student", action="append", help="only this student (repeatable; default: every student)")

    p = add("remove", cmd_remove, "Remove a student (or one submission, with --assignment) from the gradebook: "
                                  "nbgrader's rows, TA scores included, and the autograder's.", assignment)
    p.add_argument("--student", action="append", required=True, help="the student to remove (repeatable)")

    p = add("demo", cmd_demo, "Release, grade the bundled sample submissions, print the scores.", progress)
    p.add_argument("--workdir", help="where the demo writes (default: .demo/ in the course root)")

    p = add("calibrate", cmd_calibrate, "Train the reference over several seeds; record metrics, propose thresholds.",
            assignment)
    p.add_argument("--seeds", type=int, nargs="+", default=[1234, 1, 2], help="training seeds (default: 1234 1 2)")
    p.add_argument("--notebooks", nargs="*", help="notebooks to calibrate (default: every notebook that trains a model)")
    p.add_argument("--output", help="record file (default: docs/calibration.json)")

    p = add("similarity", cmd_similarity, "List pairs of students with unusually similar answers.", assignment)
    p.add_argument("path", help="the submissions, as for `grade`")
    p.add_argument("--threshold", type=float, default=0.6, help="share of fingerprints in common (0-1, default 0.6)")

    p = add("report", cmd_report, "Write the class report: one self-contained HTML file with charts and flags.",
            assignment)
    p.add_argument("--output", help="file to write (default: report.html in the course root)")
    p.add_argument("--submissions", help="the submissions, as for `grade`: also list similar pairs")
    p.add_argument("--threshold", type=float, default=0.6, help="similarity threshold, as for `similarity`")

    p = add("data", None, "Datasets: prefetch the canonical files into the cache.")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    fetch = data_sub.add_parser("fetch", help="download and verify datasets (default: all)",
                                description="Download and verify datasets into data.cache_dir (default: all).")
    fetch.add_argument("names", nargs="*", help="imdb, shakespeare, jena_climate")
    fetch.set_defaults(func=cmd_data_fetch)

    add("config", cmd_config, "Print the validated configuration in force.", assignment)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:        # no command: the commands, their descriptions and examples; a usage error (2)
        print(parser.format_help(), file=sys.stderr, end="")
        return 2
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AutograderError as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograder: interrupted; every grade recorded so far is kept.", file=sys.stderr)
        return 130
