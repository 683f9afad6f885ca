"""The supported Python x Django matrix: ``nox -s matrix`` (``nox -l`` lists the combinations).

Each session creates a virtual environment for its Python, installs the locked
dependencies into it with ``uv sync --locked``, then the Django series of the
combination, and runs the test suite (arguments after ``--`` go to pytest).
An interpreter that is not installed skips its sessions with a message.

Interpreters are found on ``PATH`` and in pyenv's ``~/.pyenv/versions`` (used
directly, so ``pyenv global`` need not list them). uv must be on ``PATH`` or in
``.cache/bootstrap`` (where ``python3 run.py`` installs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent

# (Python, Django series): Django 5.2 LTS everywhere, Django 6 where Python allows it (3.12+).
COMBINATIONS = [("3.11", "5.2"), ("3.12", "5.2"), ("3.12", "6"), ("3.13", "5.2"), ("3.13", "6")]
DJANGO_REQUIREMENT = {"5.2": "django>=5.2,<5.3", "6": "django>=6,<7"}

nox.options.sessions = ["matrix"]
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = False  # skip with a message, also on CI
nox.options.reuse_venv = "yes"


def _extend_path() -> None:
    # pyenv's shims answer "command not found" for versions that are not active, so put each
    # installed version's own bin directory ahead of them.
    found = [str(ROOT / ".cache" / "bootstrap" / "bin")]
    for version, _ in COMBINATIONS:
        candidates = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"), reverse=True)
        if candidates:
            found.append(str(candidates[0].parent))
    os.environ["PATH"] = os.pathsep.join([*dict.fromkeys(found), os.environ.get("PATH", "")])
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"


_extend_path()


def _install_locked(session: nox.Session) -> None:
    """Install the locked dependencies (uv.lock, every extra and group) into the session's environment."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--all-extras",
        "--all-groups",
        "--quiet",
        f"--python={session.virtualenv.location}",
        env={"UV_PROJECT_ENVIRONMENT": str(session.virtualenv.location)},
    )


@nox.session
@nox.parametrize(("python", "django"), COMBINATIONS)
def matrix(session: nox.Session, django: str) -> None:
    """Run the test suite on one Python with one Django series."""
    _install_locked(session)
    session.install(DJANGO_REQUIREMENT[django])
    session.run("python", "-c", "import sys, django; print('Python', sys.version, '/ Django', django.__version__)")
    session.run("python", "-m", "pytest", *session.posargs)


# -- Django's own test suite as an oracle --------------------------------------------------------------

# Django's test apps to run: the ORM's write paths, transactions, signals, and what loads or writes records.
DJANGO_SUITE_APPS = [
    "basic",
    "bulk_create",
    "composite_pk",
    "contenttypes_tests",
    "custom_pk",
    "defer",
    "delete",
    "delete_regress",
    "fixtures",
    "force_insert_update",
    "from_db_value",
    "get_or_create",
    "m2m_signals",
    "many_to_many",
    "many_to_one",
    "model_fields",
    "model_inheritance",
    "model_inheritance_regress",
    "multiple_database",
    "one_to_one",
    "proxy_model_inheritance",
    "proxy_models",
    "queries",
    "save_delete_hooks",
    "select_for_update",
    "serializers",
    "signals",
    "transactions",
    "update",
    "update_only_fields",
]
# Run on PostgreSQL too: where transactions, savepoints and locking behave differently from SQLite.
DJANGO_SUITE_POSTGRES_APPS = [
    "basic",
    "bulk_create",
    "composite_pk",
    "custom_pk",
    "delete",
    "delete_regress",
    "force_insert_update",
    "get_or_create",
    "model_inheritance",
    "multiple_database",
    "proxy_models",
    "save_delete_hooks",
    "select_for_update",
    "signals",
    "transactions",
    "update",
    "update_only_fields",
]
DJANGO_SUITE_POSTGRES = ("127.0.0.1", 5432)  # user postgres, trusted (see tests/django_suite/canvas_suite/settings.py)

# Tests that pass without canvas_core and fail with it only because they count queries canvas_core adds by
# design (docs/guide/records.md, "What it costs"). Each entry says which query. Nothing else may fail.
_FAST_DELETE = (
    "delete handlers make Django load the records it deletes, as any pre_delete/post_delete receiver does: "
    "no fast delete (one DELETE without a SELECT)"
)
_DEFERRED_OLD_VALUE = (
    "a deferred field assigned without being read, then saved: one SELECT of its old value for the update diff"
)
_QUERYSET_UPDATE = "QuerySet.update() with update handlers: one SELECT of the matched rows, for the per-row diffs"
DJANGO_SUITE_ALLOWED_FAILURES = {
    "delete.tests.FastDeleteTests.test_fast_delete_aggregation": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_all": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_combined_relationships": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_fk": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_full_match": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_inheritance": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_instance_set_pk_none": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_joined_qs": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_large_batch": _FAST_DELETE,
    "delete.tests.FastDeleteTests.test_fast_delete_qs": _FAST_DELETE,
    "delete_regress.tests.DeleteTests.test_self_reference_with_through_m2m_at_second_level": _FAST_DELETE,
    "delete_regress.tests.Ticket19102Tests.test_ticket_19102_annotate": _FAST_DELETE,
    "delete_regress.tests.Ticket19102Tests.test_ticket_19102_defer": _FAST_DELETE,
    "delete_regress.tests.Ticket19102Tests.test_ticket_19102_extra": _FAST_DELETE,
    "delete_regress.tests.Ticket19102Tests.test_ticket_19102_select_related": _FAST_DELETE,
    "delete.tests.DeletionTests.test_only_referenced_fields_selected": (
        "delete handlers make Django load whole records (not only the referenced fields), as any delete receiver does"
    ),
    "update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_deferred": _DEFERRED_OLD_VALUE,
    "update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_only_1": _DEFERRED_OLD_VALUE,
    "update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_only_2": _DEFERRED_OLD_VALUE,
    "update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_only_repeated": _DEFERRED_OLD_VALUE,
    "composite_pk.test_update.CompositePKUpdateTests.test_update_fields_deferred": _DEFERRED_OLD_VALUE,
    "force_insert_update.tests.ForceInsertInheritanceTests.test_force_insert_false": (
        "Model(pk=...).save() of an existing row: one SELECT tells an update (with its diff) from a create"
    ),
    "contenttypes_tests.test_order_with_respect_to.OrderWithRespectToGFKTests.test_database_routing": (
        "set_<related>_order() bulk-updates instances it built (old values unknown): one SELECT for the diffs"
    ),
    "proxy_models.tests.ProxyModelTests.test_proxy_update": _QUERYSET_UPDATE,
    "model_inheritance.tests.ModelInheritanceTests.test_update_parent_filtering": (
        "reads the first query of QuerySet.update(), which with update handlers is the SELECT of the rows"
    ),
    "delete_regress.tests.SetQueryCountTests.test_set_querycount": (
        "on_delete=SET_NULL/SET(...) field updates are QuerySet.update()s with events: one SELECT each"
    ),
    "many_to_many.tests.ManyToManyTests.test_fast_add_ignore_conflicts": (
        "a many-to-many change reads the relation's rows before and after (one query each) for the diff"
    ),
}
# Tests whose outcome depends on the machine's load, not on the code: left out of the comparison.
DJANGO_SUITE_IGNORED = {
    "serializers.test_deserialization.TestDeserializer.test_crafted_xml_performance": "asserts wall-time ratios",
}
DJANGO_SUITE_PROCESSES = 2
RECORD_EVENTS = (
    "PreRecordCreate",
    "PostRecordCreate",
    "PreRecordUpdate",
    "PostRecordUpdate",
    "PreRecordDelete",
    "PostRecordDelete",
)


@nox.session
def django_suite(session: nox.Session) -> None:
    """Run Django's own test suite (of the installed Django) without, then with canvas_core wired.

    The sdist of the installed Django version is downloaded from PyPI once
    (``.cache/django-suite/``); its ``tests/runtests.py`` runs the apps above
    with ``canvas_suite.settings`` (``tests/django_suite/``): once as they are
    (the baseline), once with ``canvas_core`` installed and catch-all handlers
    on all six record events. Every test that passes in the baseline must
    pass wired, except ``DJANGO_SUITE_ALLOWED_FAILURES``; the handlers must
    have received every kind of record event. SQLite always, PostgreSQL
    (``127.0.0.1:5432``) for ``DJANGO_SUITE_POSTGRES_APPS`` when it answers.
    """
    import json
    import shutil
    import socket
    import tarfile

    _install_locked(session)
    version = session.run("python", "-c", "import django; print(django.__version__)", silent=True)
    assert isinstance(version, str)
    version = version.strip()
    cache = ROOT / ".cache" / "django-suite"
    runtests = cache / f"django-{version}" / "tests" / "runtests.py"
    if not runtests.exists():
        sdist = cache / f"django-{version}.tar.gz"
        if not sdist.exists():
            session.run(
                *("python", "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps"),
                *("--dest", str(cache), f"django=={version}"),
            )
        shutil.rmtree(cache / f"django-{version}", ignore_errors=True)
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(f"django-{version}/tests/")]
            archive.extractall(cache, members=members, filter="data")

    databases = ["sqlite"]
    try:
        socket.create_connection(DJANGO_SUITE_POSTGRES, timeout=3).close()
        databases.append("postgres")
    except OSError as exc:
        session.warn(f"PostgreSQL run skipped: nothing answers on {DJANGO_SUITE_POSTGRES} ({exc})")

    work = cache / "runs"
    failed: list[str] = []
    allowed_and_failed: set[str] = set()
    for database in databases:
        apps = DJANGO_SUITE_APPS if database == "sqlite" else DJANGO_SUITE_POSTGRES_APPS
        results = {}
        for wired in (False, True):
            run = work / f"{database}-{'wired' if wired else 'baseline'}"
            shutil.rmtree(run, ignore_errors=True)
            (run / "counts").mkdir(parents=True)
            env = {
                "PYTHONPATH": str(ROOT / "tests" / "django_suite"),
                "CANVAS_SUITE_WIRED": "1" if wired else "0",
                "CANVAS_SUITE_DATABASE": database,
                "CANVAS_SUITE_RESULTS": str(run / "results.json"),
                "CANVAS_SUITE_COUNTS": str(run / "counts"),
            }
            session.log(f"Django {version} suite on {database}, {'with' if wired else 'without'} canvas_core")
            output = session.run(
                *("python", str(runtests), "--settings=canvas_suite.settings", "--noinput"),
                *(f"--parallel={DJANGO_SUITE_PROCESSES}", *apps),
                env=env,
                success_codes=[0, 1],  # failing tests: judged below, against the baseline
                silent=True,  # the allowed failures' reports would hide the summary: kept in output.log
            )
            (run / "output.log").write_text(str(output))
            ran = [line for line in str(output).splitlines() if line.startswith(("Ran ", "OK", "FAILED"))]
            session.log(f"{' / '.join(ran)}; full output in {run.relative_to(ROOT) / 'output.log'}")
            if not (run / "results.json").exists():
                session.error(f"Django's test runner did not finish on {database}: no results were written")
            results[wired] = json.loads((run / "results.json").read_text())
            if wired:
                received: dict[str, int] = {}
                errors: list[str] = []
                for counts in (run / "counts").glob("*.json"):
                    seen = json.loads(counts.read_text())
                    for kind, count in seen["received"].items():
                        received[kind] = received.get(kind, 0) + count
                    errors.extend(seen["errors"])
                session.log(f"record events the catch-all handlers received: {dict(sorted(received.items()))}")
                failed.extend(f"{database}: canvas_core logged {error}" for error in errors)
                never = [kind for kind in RECORD_EVENTS if not received.get(kind)]
                if never:
                    failed.append(f"{database}: the catch-all handlers never received {never}")
        failed.extend(f"{database}: {line}" for line in _compare_suite_runs(results[False], results[True]))
        allowed_and_failed.update(test for test, outcome in results[True].items() if outcome == "failure")
        passed = {wired: sum(outcome == "success" for outcome in results[wired].values()) for wired in results}
        session.log(
            f"{database}: {len(results[False])} tests; passed {passed[False]} without canvas_core, "
            f"{passed[True]} with it"
        )
    for test in sorted(DJANGO_SUITE_ALLOWED_FAILURES.keys() - allowed_and_failed):
        session.warn(f"allowed to fail but passed on every database: {test} (remove it from the allow-list?)")
    if failed:
        session.error("Django's own test suite with canvas_core:\n  " + "\n  ".join(failed))


def _compare_suite_runs(baseline: dict[str, str], wired: dict[str, str]) -> list[str]:
    """What is wrong with the wired run: a test that passes without canvas_core and not with it, or did not run."""
    problems = []
    for test, outcome in sorted(baseline.items()):
        now = wired.get(test, "not run")
        if now == "not run":
            problems.append(f"{test}: {outcome} without canvas_core, not run with it")
        elif (
            outcome == "success"
            and now != "success"
            and test not in {**DJANGO_SUITE_ALLOWED_FAILURES, **DJANGO_SUITE_IGNORED}
        ):
            problems.append(f"{test}: passes without canvas_core, {now} with it")
    return problems
