"""The six record events around save() and delete(), their types and origins."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import serializers
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from canvas_core import events
from tests.testapp.models import Author, AuthorProxy, Book, Membership, Place, Restaurant

from .conftest import Recorder

pytestmark = pytest.mark.django_db


def test_create_update_delete_emit_the_six_events_in_order(recorder: Recorder) -> None:
    recorder.listen(Author)
    author = Author.objects.create(name="Ada")
    author.name = "Ada Lovelace"
    author.save()
    author.delete()
    assert recorder.kinds == [
        "PreRecordCreate",
        "PostRecordCreate",
        "PreRecordUpdate",
        "PostRecordUpdate",
        "PreRecordDelete",
        "PostRecordDelete",
    ]
    assert recorder.diffs() == [{"name": ("Ada", "Ada Lovelace")}]


def test_events_are_parametrized_for_the_model_with_the_model_as_origin() -> None:
    seen: list[tuple[type[events.Event], Any]] = []

    @events.handle_event(events.PostRecordUpdate[Author])
    def by_type(event: events.PostRecordUpdate[Author]) -> None:
        seen.append((type(event), "by_type"))

    @events.handle_event(events.PostRecordUpdate, origin=Author)
    def by_origin(event: events.PostRecordUpdate[Author]) -> None:
        seen.append((type(event), "by_origin"))

    author = Author.objects.create(name="Ada")
    author.save()
    assert sorted(name for _, name in seen) == ["by_origin", "by_type"]
    assert {event_type for event_type, _ in seen} == {events.PostRecordUpdate[Author]}


def test_a_handler_for_other_records_hears_nothing(recorder: Recorder) -> None:
    recorder.listen(Book)
    Author.objects.create(name="Ada").delete()
    assert recorder.kinds == []


def test_proxy_model_events_reach_handlers_of_the_concrete_model(recorder: Recorder) -> None:
    recorder.listen(Author)
    proxy = AuthorProxy.objects.create(name="Ada")
    proxy.name = "Grace"
    proxy.save()
    proxy.delete()
    assert recorder.kinds == [
        "PreRecordCreate",
        "PostRecordCreate",
        "PreRecordUpdate",
        "PostRecordUpdate",
        "PreRecordDelete",
        "PostRecordDelete",
    ]
    assert {item.model for item in recorder.seen} == {AuthorProxy}


def test_handlers_of_a_proxy_do_not_hear_the_concrete_model(recorder: Recorder) -> None:
    recorder.listen(AuthorProxy)
    Author.objects.create(name="Ada")
    assert recorder.kinds == []
    AuthorProxy.objects.create(name="Grace")
    assert recorder.kinds == ["PreRecordCreate", "PostRecordCreate"]


def test_multi_table_child_emits_one_event_per_write_with_fields_of_both_tables(recorder: Recorder) -> None:
    recorder.listen(Place)  # the parent's handlers hear about children too
    restaurant = Restaurant.objects.create(name="Chez Ada", serves_pizza=False)
    restaurant.name = "Chez Grace"
    restaurant.serves_pizza = True
    restaurant.save()
    restaurant.delete()
    assert recorder.kinds == [
        "PreRecordCreate",
        "PostRecordCreate",
        "PreRecordUpdate",
        "PostRecordUpdate",
        "PreRecordDelete",
        "PostRecordDelete",
    ]
    assert {item.model for item in recorder.seen} == {Restaurant}
    assert recorder.diffs() == [{"name": ("Chez Ada", "Chez Grace"), "serves_pizza": (False, True)}]
    assert not Place.objects.exists()


def test_deleting_a_multi_table_parent_row_alone_is_reported(recorder: Recorder) -> None:
    recorder.listen(Place)
    place = Place.objects.create(name="Square")
    recorder.clear()
    place.delete()
    assert recorder.kinds == ["PreRecordDelete", "PostRecordDelete"]
    assert recorder.seen[0].model is Place


def test_queryset_delete_and_cascades_emit_per_record(recorder: Recorder) -> None:
    recorder.listen(Book)
    recorder.listen(Author)
    ada = Author.objects.create(name="Ada")
    Book.objects.create(title="Notes", author=ada)
    Book.objects.create(title="Letters", author=ada)
    recorder.clear()
    Author.objects.filter(name="Ada").delete()
    kinds = [(item.kind, item.model.__name__) for item in recorder.seen]
    assert kinds.count(("PreRecordDelete", "Book")) == 2
    assert kinds.count(("PostRecordDelete", "Book")) == 2
    assert kinds.count(("PreRecordDelete", "Author")) == 1
    assert kinds.count(("PostRecordDelete", "Author")) == 1


def test_post_delete_handlers_still_see_the_primary_key(recorder: Recorder) -> None:
    pks: list[Any] = []

    @events.handle_event(events.PostRecordDelete, origin=Author)
    def remember(event: events.PostRecordDelete[Author]) -> None:
        pks.append(event.record.pk)

    author = Author.objects.create(name="Ada")
    expected = author.pk
    author.delete()
    assert pks == [expected]


def test_a_delete_of_many_rows_emits_each_event_once_pre_before_and_post_after_the_rows_go() -> None:
    """A model's events go out together, on Django's first signal of that model: once each, at the right time."""
    authors = [Author.objects.create(name=f"A{i}") for i in range(5)]
    seen: list[tuple[str, Any, int]] = []

    @events.handle_event(events.PreRecordDelete, origin=Author)
    def before(event: events.PreRecordDelete[Author]) -> None:
        seen.append(("pre", event.record.pk, Author.objects.filter(pk=event.record.pk).count()))

    @events.handle_event(events.PostRecordDelete, origin=Author)
    def after(event: events.PostRecordDelete[Author]) -> None:
        seen.append(("post", event.record.pk, Author.objects.filter(pk=event.record.pk).count()))

    Author.objects.filter(pk__in=[a.pk for a in authors[1:]]).delete()
    keys = sorted(a.pk for a in authors[1:])
    # (in Django's order: its own signals go in key order before the delete, the reverse after it)
    assert sorted(entry for entry in seen if entry[0] == "pre") == [("pre", pk, 1) for pk in keys]
    assert sorted(entry for entry in seen if entry[0] == "post") == [("post", pk, 0) for pk in keys]
    assert [kind for kind, _, _ in seen] == ["pre"] * 4 + ["post"] * 4


def test_a_pre_handler_deleting_a_row_of_the_same_delete_reports_each_row_once() -> None:
    first, second, third = (Author.objects.create(name=name) for name in ("A", "B", "C"))
    kinds: list[tuple[str, Any]] = []

    @events.handle_event(events.PreRecordDelete, origin=Author)
    def before(event: events.PreRecordDelete[Author]) -> None:
        kinds.append(("pre", event.record.name))
        if event.record.pk == first.pk:
            Author.objects.filter(pk=third.pk).delete()  # a nested delete, inside the outer one's events

    @events.handle_event(events.PostRecordDelete, origin=Author)
    def after(event: events.PostRecordDelete[Author]) -> None:
        kinds.append(("post", event.record.name))

    Author.objects.filter(pk__in=[first.pk, second.pk, third.pk]).delete()
    assert not Author.objects.exists()
    # C: once by the nested delete; the outer one still reports the instance it collected (as Django's
    # signals do), so C's Pre and Post come twice, from two deletes, each once.
    nested = [("pre", "C"), ("post", "C")]
    outer = [("pre", "A"), ("pre", "B"), ("pre", "C"), ("post", "A"), ("post", "B"), ("post", "C")]
    assert sorted(kinds) == sorted(nested + outer)


def test_delete_signals_sent_by_hand_still_emit_for_their_instance() -> None:
    """Outside a Collector.delete(), or for an instance it is not deleting, the signal's instance alone."""
    from django.db.models.signals import pre_delete

    ada, other = Author.objects.create(name="Ada"), Author.objects.create(name="Other")
    seen: list[Any] = []

    @events.handle_event(events.PreRecordDelete, origin=Author)
    def before(event: events.PreRecordDelete[Author]) -> None:
        seen.append(event.record.name)
        if event.record.name == "Ada":  # during a real delete, a hand-sent signal for another instance
            pre_delete.send(sender=Author, instance=Author.objects.get(pk=other.pk), using="default")

    pre_delete.send(sender=Author, instance=Author(name="By hand"), using="default")
    assert seen == ["By hand"]
    ada.delete()
    assert seen == ["By hand", "Ada", "Other"]
    assert Author.objects.filter(pk=other.pk).exists()


def test_fixture_loading_raw_saves_emit_nothing(recorder: Recorder) -> None:
    recorder.listen(Author)
    recorder.listen(Book)
    data = serializers.serialize("json", [Author(pk=41, name="Ada"), Book(pk=42, title="Notes", author_id=41)])
    with CaptureQueriesContext(connection):
        for deserialized in serializers.deserialize("json", data):
            deserialized.save()
    assert Book.objects.get(pk=42).author_id == 41
    assert recorder.kinds == []


def test_get_or_create_and_update_or_create_are_covered(recorder: Recorder) -> None:
    recorder.listen(Author)
    Author.objects.get_or_create(name="Ada")
    Author.objects.update_or_create(name="Ada", defaults={"name": "Ada L."})
    assert recorder.kinds == ["PreRecordCreate", "PostRecordCreate", "PreRecordUpdate", "PostRecordUpdate"]
    assert recorder.diffs() == [{"name": ("Ada", "Ada L.")}]


def test_saving_an_unsaved_instance_with_an_existing_primary_key_is_an_update(recorder: Recorder) -> None:
    recorder.listen(Author)
    Author.objects.create(pk=7, name="Ada")
    recorder.clear()
    Author(pk=7, name="Grace").save()
    assert recorder.kinds == ["PreRecordUpdate", "PostRecordUpdate"]
    assert recorder.diffs() == [{"name": ("Ada", "Grace")}]


def test_copying_a_record_by_clearing_its_pk_emits_create_events(recorder: Recorder) -> None:
    # Django's documented copy idiom: the instance was loaded (not "adding"), but Django INSERTs it.
    original = Author.objects.create(name="Ada")
    recorder.listen(Author)
    copy = Author.objects.get(pk=original.pk)
    copy.pk = None
    copy.name = "Ada (copy)"
    copy.save()
    assert recorder.kinds == ["PreRecordCreate", "PostRecordCreate"]
    assert sorted(Author.objects.values_list("name", flat=True)) == ["Ada", "Ada (copy)"]
    recorder.clear()
    copy.name = "Grace"
    copy.save()  # diffed against the copy's row, not the original's
    assert recorder.diffs() == [{"name": ("Ada (copy)", "Grace")}]
    assert Author.objects.get(pk=original.pk).name == "Ada"


def test_copying_a_multi_table_child_by_clearing_its_pks_emits_create_events(recorder: Recorder) -> None:
    Restaurant.objects.create(name="Luigi's", serves_pizza=True)
    recorder.listen(Restaurant)
    copy = Restaurant.objects.get()
    copy.pk = None
    copy.id = None
    copy.save()
    assert recorder.kinds == ["PreRecordCreate", "PostRecordCreate"]
    assert Restaurant.objects.count() == 2


def test_force_insert_of_a_loaded_instance_emits_create_events(recorder: Recorder) -> None:
    Author.objects.create(pk=1, name="Ada")
    recorder.listen(Author)
    author = Author.objects.get()
    author.pk = 2
    author.save(force_insert=True)
    assert recorder.kinds == ["PreRecordCreate", "PostRecordCreate"]
    assert Author.objects.count() == 2


def test_a_composite_pk_whose_fields_have_defaults_is_inserted_without_a_select(recorder: Recorder) -> None:
    recorder.listen(Membership)
    with CaptureQueriesContext(connection) as queries:
        Membership(group=1, member=2).save()  # Django skips the UPDATE: every pk field has a default
    assert [query["sql"].split()[0] for query in queries] == ["INSERT"]
    assert recorder.kinds == ["PreRecordCreate", "PostRecordCreate"]


def test_a_composite_pk_insert_of_an_existing_row_is_reported_as_a_create(recorder: Recorder) -> None:
    Membership.objects.create(group=1, member=2, role="old")
    recorder.listen(Membership)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership(group=1, member=2, role="new").save()  # Django runs an INSERT, which fails
    assert recorder.kinds == ["PreRecordCreate"]
    assert Membership.objects.get().role == "old"


def test_a_composite_pk_of_a_loaded_row_is_updated(recorder: Recorder) -> None:
    Membership.objects.create(group=1, member=2, role="old")
    recorder.listen(Membership)
    membership = Membership.objects.get()
    membership.role = "new"
    membership.save()
    assert recorder.kinds == ["PreRecordUpdate", "PostRecordUpdate"]
    assert recorder.diffs() == [{"role": ("old", "new")}]
