"""asave() and adelete() go through the same code as their sync twins."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from tests.testapp.models import Author

from .conftest import Recorder


async def _write() -> None:
    author = await Author.objects.acreate(name="Ada")
    author.name = "Grace"
    await author.asave()
    await author.adelete()


@pytest.mark.django_db(transaction=True)
def test_asave_and_adelete_emit(recorder: Recorder) -> None:
    recorder.listen(Author)
    async_to_sync(_write)()
    assert recorder.kinds == [
        "PreRecordCreate",
        "PostRecordCreate",
        "PreRecordUpdate",
        "PostRecordUpdate",
        "PreRecordDelete",
        "PostRecordDelete",
    ]
    assert recorder.diffs() == [{"name": ("Ada", "Grace")}]
