"""Writes that never call save(): QuerySet.update(), many-to-many changes and cascaded field updates."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Case, F, OuterRef, Subquery, Value, When
from django.db.models.signals import m2m_changed, post_init
from django.test.utils import CaptureQueriesContext

from canvas_core import events
from tests.testapp.models import Article, Author, Book, Counter, Membership, Restaurant, Tag

from .conftest import Recorder

pytestmark = pytest.mark.django_db


# -- QuerySet.update() ---------------------------------------------------------------------------


def test_update_with_literal_values_emits_pre_and_post_per_row_with_diffs(recorder: Recorder) -> None:
    a = Counter.objects.create(name="a", count=1)
    b = Counter.objects.create(name="b", count=2)
    recorder.listen(Counter)
    assert Counter.objects.filter(count__lt=10).update(count=5) == 2
    assert recorder.kinds == ["PreRecordUpdate"] * 2 + ["PostRecordUpdate"] * 2
    assert sorted(recorder.diffs(), key=str) == [{"count": (1, 5)}, {"count": (2, 5)}]
    by_pk = {item.record.pk: item.record for item in recorder.seen if item.kind == "PostRecordUpdate"}
    assert {pk: record.count for pk, record in by_pk.items()} == {a.pk: 5, b.pk: 5}
    assert list(Counter.objects.order_by("pk").values_list("count", flat=True)) == [5, 5]


def test_pre_handlers_see_the_stored_record_and_post_handlers_the_new_one() -> None:
    Counter.objects.create(name="a", count=1)
    seen: list[tuple[str, int, str]] = []

    @events.handle_event(events.PreRecordUpdate[Counter])
    def pre(event: events.PreRecordUpdate[Counter]) -> None:
        seen.append(("pre", event.record.count, event.operation))

    @events.handle_event(events.PostRecordUpdate[Counter])
    def post(event: events.PostRecordUpdate[Counter]) -> None:
        seen.append(("post", event.record.count, event.operation))

    Counter.objects.update(count=7)
    assert seen == [("pre", 1, "queryset_update"), ("post", 7, "queryset_update")]


def test_the_rows_updated_are_the_rows_reported_even_when_a_pre_handler_moves_one_out_of_the_filter() -> None:
    first = Counter.objects.create(name="a", count=1)
    Counter.objects.create(name="b", count=1)
    reported: dict[int, str] = {}

    @events.handle_event(events.PreRecordUpdate[Counter])
    def move_out(event: events.PreRecordUpdate[Counter]) -> None:
        if event.record.pk == first.pk and "name" in event.diff:
            Counter.objects.filter(pk=first.pk).update(count=2)  # no longer matches count=1

    @events.handle_event(events.PostRecordUpdate[Counter])
    def post(event: events.PostRecordUpdate[Counter]) -> None:
        if "name" in event.diff:
            reported[event.record.pk] = event.diff["name"][1]

    assert Counter.objects.filter(count=1).update(name="z") == 2
    assert reported == dict(Counter.objects.filter(name="z").values_list("pk", "name"))
    assert sorted(reported) == sorted(Counter.objects.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (F("count") + 1, [(1, 2), (5, 6)]),
        (Case(When(count__gt=2, then=Value(100)), default=Value(0)), [(1, 0), (5, 100)]),
        (F("count") * 0 + 1, [(5, 1)]),  # the row already holding 1 has no diff entry
    ],
    ids=["F", "Case", "partly-unchanged"],
)
def test_expressions_appear_in_the_diff_as_the_stored_results(
    recorder: Recorder, expression: Any, expected: list[tuple[int, int]]
) -> None:
    Counter.objects.create(name="a", count=1)
    Counter.objects.create(name="b", count=5)
    recorder.listen(Counter, events.PostRecordUpdate)
    Counter.objects.update(count=expression)
    diffs = [diff["count"] for diff in recorder.diffs() if diff]
    assert sorted(diffs) == expected
    stored = sorted(Counter.objects.values_list("count", flat=True))
    assert sorted(new for _, new in expected) == sorted(set(stored) & {new for _, new in expected})


def test_subquery_values_are_read_as_stored(recorder: Recorder) -> None:
    ada = Author.objects.create(name="Ada")
    Book.objects.create(title="Notes", author=ada)
    recorder.listen(Author, events.PostRecordUpdate)
    newest_title = Book.objects.filter(author=OuterRef("pk")).order_by("-pk").values("title")[:1]
    Author.objects.update(name=Subquery(newest_title))
    assert recorder.diffs() == [{"name": ("Ada", "Notes")}]


def test_no_op_updates_still_emit_with_an_empty_diff_and_zero_rows_emit_nothing(recorder: Recorder) -> None:
    Counter.objects.create(name="a", count=3)
    recorder.listen(Counter)
    assert Counter.objects.update(count=3) == 1
    assert recorder.diffs() == [{}]
    recorder.clear()
    assert Counter.objects.filter(count=99).update(count=1) == 0
    assert recorder.kinds == []


def test_updates_filtered_through_joins(recorder: Recorder) -> None:
    ada, grace = Author.objects.create(name="Ada"), Author.objects.create(name="Grace")
    Book.objects.create(title="x", author=ada)
    Book.objects.create(title="y", author=grace)
    recorder.listen(Book, events.PostRecordUpdate)
    assert Book.objects.filter(author__name="Ada").update(title="z") == 1
    assert recorder.diffs() == [{"title": ("x", "z")}]


def test_foreign_keys_appear_as_keys_and_no_related_object_is_loaded(recorder: Recorder) -> None:
    ada, grace = Author.objects.create(name="Ada"), Author.objects.create(name="Grace")
    Book.objects.create(title="x", author=ada)
    recorder.listen(Book, events.PostRecordUpdate)
    with CaptureQueriesContext(connection) as queries:
        Book.objects.select_related("author").update(author=grace)
    assert recorder.diffs() == [{"author": (ada.pk, grace.pk)}]
    assert not any("testapp_author" in q["sql"].split("FROM", 1)[-1] for q in queries.captured_queries[:1])
    assert recorder.seen[0].record.author_id == grace.pk


def test_values_and_only_querysets_are_covered(recorder: Recorder) -> None:
    Counter.objects.create(name="a", count=1)
    recorder.listen(Counter, events.PostRecordUpdate)
    Counter.objects.only("name").update(count=2)
    Counter.objects.values("pk").update(count=3)
    assert recorder.diffs() == [{"count": (1, 2)}, {"count": (2, 3)}]


def test_records_are_those_loading_the_rows_gives_and_save_after_it_diffs_from_the_stored_row(
    recorder: Recorder,
) -> None:
    ada, grace = Author.objects.create(name="Ada"), Author.objects.create(name="Grace")
    Book.objects.create(title="x", author=ada, metadata={"tags": ["a"]})
    recorder.listen(Book, events.PostRecordUpdate)
    Book.objects.update(title="y", author=grace)
    (record,) = [item.record for item in recorder.seen]
    loaded = Book.objects.get()
    attnames = [field.attname for field in Book._meta.concrete_fields]
    assert [getattr(record, a) for a in attnames] == [getattr(loaded, a) for a in attnames]
    assert (record._state.adding, record._state.db) == (False, "default")
    assert not Book.author.is_cached(record)
    assert record.author == grace  # the related object loads on access, as on a loaded record
    recorder.clear()
    record.metadata["tags"].append("b")  # an in-place change of a container is a change
    record.save()
    assert recorder.diffs() == [{"metadata": ({"tags": ["a"]}, {"tags": ["a", "b"]})}]


def test_models_with_init_receivers_get_their_records_built_by_django(recorder: Recorder) -> None:
    Counter.objects.create(name="a", count=1)
    initialised: list[Any] = []

    def on_init(sender: type[Counter], instance: Counter, **kwargs: Any) -> None:
        initialised.append(instance)

    post_init.connect(on_init, sender=Counter)
    try:
        recorder.listen(Counter, events.PostRecordUpdate)
        Counter.objects.update(count=2)
    finally:
        post_init.disconnect(on_init, sender=Counter)
    assert [item.record for item in recorder.seen] == [initialised[-1]]
    assert recorder.seen[0].record is initialised[-1]


def test_a_model_with_its_own_setattr_gets_records_built_through_it(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    Counter.objects.create(name="a", count=1)
    assigned: list[str] = []

    def tracking_setattr(self: Counter, name: str, value: Any) -> None:
        assigned.append(name)
        object.__setattr__(self, name, value)

    monkeypatch.setattr(Counter, "__setattr__", tracking_setattr, raising=False)
    recorder.listen(Counter, events.PostRecordUpdate)
    Counter.objects.update(count=2)
    assert recorder.seen[0].record.count == 2
    assert "count" in assigned  # the record was built by Model.__init__, which assigns through __setattr__


def test_multi_table_children_update_fields_of_both_tables(recorder: Recorder) -> None:
    first = Restaurant.objects.create(name="Luigi", serves_pizza=False)
    Restaurant.objects.create(name="Mario", serves_pizza=True)
    recorder.listen(Restaurant, events.PostRecordUpdate)
    assert Restaurant.objects.filter(name="Luigi").update(name="Luigi's", serves_pizza=True) == 1
    assert [(item.record.pk, item.diff) for item in recorder.seen] == [
        (first.pk, {"name": ("Luigi", "Luigi's"), "serves_pizza": (False, True)})
    ]
    assert sorted(Restaurant.objects.values_list("name", "serves_pizza")) == [("Luigi's", True), ("Mario", True)]


def test_models_with_a_composite_primary_key(recorder: Recorder) -> None:
    Membership.objects.create(group=1, member=2, role="old")
    Membership.objects.create(group=1, member=3, role="kept")
    recorder.listen(Membership, events.PostRecordUpdate)
    assert Membership.objects.filter(member=2).update(role="new") == 1
    assert [(item.record.pk, item.diff) for item in recorder.seen] == [((1, 2), {"role": ("old", "new")})]
    assert sorted(Membership.objects.values_list("member", "role")) == [(2, "new"), (3, "kept")]


def test_unwired_models_run_djangos_update_untouched() -> None:
    Counter.objects.create(name="a")
    with CaptureQueriesContext(connection) as queries:
        Counter.objects.update(count=2)
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("UPDATE")


def test_update_costs_one_read_more_than_django() -> None:
    Counter.objects.create(name="a")
    events.handle_event(events.PostRecordUpdate[Counter])(lambda event: None)
    with CaptureQueriesContext(connection) as queries:
        Counter.objects.update(count=F("count") + 1)
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements.count("SELECT") == 1
    assert statements.count("UPDATE") == 1


def test_a_pre_handlers_change_to_the_record_is_reported_not_silently_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    Counter.objects.create(name="a", count=1)

    @events.handle_event(events.PreRecordUpdate[Counter])
    def rename(event: events.PreRecordUpdate[Counter]) -> None:
        event.record.name = "renamed"

    with caplog.at_level(logging.WARNING, "canvas_core.django"):
        Counter.objects.update(count=2)
    assert Counter.objects.get().name == "a"
    assert "changed name of testapp.Counter records during QuerySet.update()" in caplog.text
    assert "renamed" not in caplog.text


def test_what_a_pre_handler_changed_in_place_is_still_a_change_for_a_later_save(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ada = Author.objects.create(name="Ada")
    Book.objects.create(title="x", author=ada, metadata={"n": 1})
    records: list[Book] = []

    @events.handle_event(events.PreRecordUpdate[Book])
    def touch(event: events.PreRecordUpdate[Book]) -> None:
        event.record.metadata["n"] = 2  # not written by update(): warned about

    @events.handle_event(events.PostRecordUpdate[Book])
    def keep(event: events.PostRecordUpdate[Book]) -> None:
        records.append(event.record)

    with caplog.at_level(logging.WARNING, "canvas_core.django"):
        Book.objects.update(title="y")
    assert "changed metadata of testapp.Book" in caplog.text
    assert Book.objects.values_list("title", "metadata").get() == ("y", {"n": 1})
    (record,) = records
    changes: list[dict[str, tuple[Any, Any]]] = []
    events.handle_event(events.PostRecordUpdate[Book])(lambda event: changes.append(dict(event.diff)))
    record.save()  # the record's stored values are the row's: the handler's change is one
    assert changes[-1] == {"metadata": ({"n": 1}, {"n": 2})}
    assert Book.objects.values_list("title", "metadata").get() == ("y", {"n": 2})


def test_a_rolled_back_update_leaves_the_rows_and_post_events_ran_inside_it(recorder: Recorder) -> None:
    Counter.objects.create(name="a", count=1)
    recorder.listen(Counter, events.PostRecordUpdate)

    def update_then_fail() -> None:
        with transaction.atomic():
            Counter.objects.update(count=9)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        update_then_fail()
    assert recorder.diffs() == [{"count": (1, 9)}]
    assert Counter.objects.get().count == 1


def test_a_failing_handler_does_not_break_the_update() -> None:
    Counter.objects.create(name="a", count=1)

    @events.handle_event(events.PreRecordUpdate[Counter])
    def broken(event: events.PreRecordUpdate[Counter]) -> None:
        raise ValueError("down")

    with transaction.atomic():
        assert Counter.objects.update(count=2) == 1
    assert Counter.objects.get().count == 2


def test_the_event_says_which_database_and_which_update_fields() -> None:
    counter = Counter.objects.create(name="a", count=1)
    seen: list[tuple[str | None, frozenset[str] | None, str]] = []

    @events.handle_event(events.PostRecordUpdate[Counter])
    def post(event: events.PostRecordUpdate[Counter]) -> None:
        seen.append((event.database, event.update_fields, event.operation))

    counter.count = 2
    counter.save(update_fields=["count"])
    counter.save()
    assert seen == [("default", frozenset({"count"}), "save"), ("default", None, "save")]


# -- many-to-many ----------------------------------------------------------------------------------


@pytest.fixture
def article_and_tags() -> tuple[Article, list[Tag]]:
    return Article.objects.create(title="a"), [Tag.objects.create(label=f"t{i}") for i in range(3)]


def tag_diffs(recorder: Recorder, kind: str = "PostRecordUpdate") -> list[Any]:
    return [(item.record.pk, item.diff["tags"]) for item in recorder.seen if item.kind == kind and item.diff]


def test_add_remove_set_and_clear_emit_sorted_key_tuples(
    recorder: Recorder, article_and_tags: tuple[Article, list[Tag]]
) -> None:
    article, (t0, t1, t2) = article_and_tags
    recorder.listen(Article)
    article.tags.add(t1, t0)
    article.tags.add(t0)  # already there: nothing changes, no event
    article.tags.set([t1, t2])  # overlap: removes t0, adds t2
    article.tags.remove(t1)
    article.tags.clear()
    a = article.pk
    assert tag_diffs(recorder) == [
        (a, ((), (t0.pk, t1.pk))),
        (a, ((t0.pk, t1.pk), (t1.pk,))),
        (a, ((t1.pk,), (t1.pk, t2.pk))),
        (a, ((t1.pk, t2.pk), (t2.pk,))),
        (a, ((t2.pk,), ())),
    ]
    assert tag_diffs(recorder, "PreRecordUpdate") == tag_diffs(recorder)
    assert {item.diff and next(iter(item.diff)) for item in recorder.seen} == {"tags"}


def test_the_reverse_side_changes_the_declaring_records(recorder: Recorder) -> None:
    first, second = Article.objects.create(title="1"), Article.objects.create(title="2")
    tag = Tag.objects.create(label="t")
    recorder.listen(Article, events.PostRecordUpdate)
    tag.articles.add(first, second)
    tag.articles.remove(first)
    tag.articles.clear()
    assert tag_diffs(recorder) == [
        (first.pk, ((), (tag.pk,))),
        (second.pk, ((), (tag.pk,))),
        (first.pk, ((tag.pk,), ())),
        (second.pk, ((tag.pk,), ())),
    ]


def test_rows_of_an_auto_created_through_table_get_create_and_delete_events(
    article_and_tags: tuple[Article, list[Tag]],
) -> None:
    article, (t0, t1, t2) = article_and_tags
    through = Article.tags.through
    assert not m2m_changed.has_listeners(through)  # nothing handled: Django's fast add, no signal
    seen: list[tuple[str, int, int, int | None]] = []

    def remember(event: Any) -> None:
        kind = type(event).__pydantic_generic_metadata__["origin"].__name__
        seen.append((kind, event.record.article_id, event.record.tag_id, event.record.pk))

    kinds = (events.PreRecordCreate, events.PostRecordCreate, events.PreRecordDelete, events.PostRecordDelete)
    for kind in kinds:
        events.handle_event(kind, origin=through)(remember)

    def taken() -> list[tuple[str, int, int, int | None]]:
        taken, seen[:] = list(seen), []
        return taken

    a = article.pk
    article.tags.add(t1, t0)
    rows = dict(through.objects.values_list("tag_id", "pk"))
    assert taken() == [
        ("PreRecordCreate", a, t0.pk, None),
        ("PreRecordCreate", a, t1.pk, None),
        ("PostRecordCreate", a, t0.pk, rows[t0.pk]),
        ("PostRecordCreate", a, t1.pk, rows[t1.pk]),
    ]
    article.tags.add(t0)  # there already: no row inserted, no event
    assert taken() == []
    t2.articles.add(article)  # the reverse side
    rows = dict(through.objects.values_list("tag_id", "pk"))
    assert taken() == [("PreRecordCreate", a, t2.pk, None), ("PostRecordCreate", a, t2.pk, rows[t2.pk])]
    article.tags.remove(t0)
    assert taken() == [("PreRecordDelete", a, t0.pk, rows[t0.pk]), ("PostRecordDelete", a, t0.pk, rows[t0.pk])]
    article.tags.set([t2, t0])  # overlap: t1 removed, t0 added, t2 kept
    events_of_set = taken()
    added = through.objects.get(tag_id=t0.pk).pk
    assert events_of_set == [
        ("PreRecordDelete", a, t1.pk, rows[t1.pk]),
        ("PostRecordDelete", a, t1.pk, rows[t1.pk]),
        ("PreRecordCreate", a, t0.pk, None),
        ("PostRecordCreate", a, t0.pk, added),
    ]
    t2.articles.clear()  # the reverse side: only this tag's row goes
    assert taken() == [("PreRecordDelete", a, t2.pk, rows[t2.pk]), ("PostRecordDelete", a, t2.pk, rows[t2.pk])]
    article.tags.clear()
    assert taken() == [("PreRecordDelete", a, t0.pk, added), ("PostRecordDelete", a, t0.pk, added)]
    assert not through.objects.exists()
    events.remove_handler(remember)
    assert not m2m_changed.has_listeners(through)  # Django's fast add again


def test_through_rows_and_their_owner_both_report_one_add(
    recorder: Recorder, article_and_tags: tuple[Article, list[Tag]]
) -> None:
    article, (t0, _, _) = article_and_tags
    recorder.listen(Article, events.PostRecordUpdate)
    recorder.listen(Article.tags.through, events.PostRecordCreate)
    article.tags.add(t0)
    assert [(item.kind, type(item.record)) for item in recorder.seen] == [
        ("PostRecordCreate", Article.tags.through),
        ("PostRecordUpdate", Article),
    ]
    assert recorder.seen[1].diff == {"tags": ((), (t0.pk,))}


# -- cascaded field updates ---------------------------------------------------------------------------


def test_set_null_cascades_emit_update_events(recorder: Recorder) -> None:
    ada = Author.objects.create(name="Ada")
    kept = Article.objects.create(title="kept", editor=ada)
    recorder.listen(Article)
    ada_pk = ada.pk
    ada.delete()
    assert [(item.kind, item.record.pk, item.diff) for item in recorder.seen] == [
        ("PreRecordUpdate", kept.pk, {"editor": (ada_pk, None)}),
        ("PostRecordUpdate", kept.pk, {"editor": (ada_pk, None)}),
    ]
    assert Article.objects.get().editor_id is None
