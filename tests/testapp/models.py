"""Models the Django integration tests write to."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.db import models

from canvas_core.models import AbstractSetting


class Author(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    metadata = models.JSONField(default=dict)


class AuthorProxy(Author):
    """A proxy: handlers of Author also hear about it."""

    class Meta:
        proxy = True


class Counter(models.Model):
    """An integer to update with F() expressions, and a field Django sets while saving."""

    name = models.CharField(max_length=100)
    count = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class Place(models.Model):
    """Parent of a multi-table inheritance pair."""

    name = models.CharField(max_length=100)


class Restaurant(Place):
    """Child of a multi-table inheritance pair: its fields live in two tables."""

    serves_pizza = models.BooleanField(default=False)


class CustomSetting(AbstractSetting):
    """A project's own Setting model, for CANVAS_SETTING_MODEL."""

    description = models.TextField(blank=True, default="")


class DecimalJSONEncoder(json.JSONEncoder):
    """Writes Decimals as JSON numbers."""

    def default(self, o: Any) -> Any:
        return float(o) if isinstance(o, Decimal) else super().default(o)


class DecimalJSONDecoder(json.JSONDecoder):
    """Reads JSON numbers with a fraction as Decimal (values marshal cannot copy)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, parse_float=Decimal, **kwargs)


class Document(models.Model):
    """Two JSON fields, one holding Decimals."""

    data = models.JSONField(default=dict)
    prices = models.JSONField(default=dict, encoder=DecimalJSONEncoder, decoder=DecimalJSONDecoder)


class Tag(models.Model):
    """The related side of a many-to-many relation."""

    label = models.CharField(max_length=50)


class Article(models.Model):
    """Declares a many-to-many relation, and a nullable reference cleared when its author goes."""

    title = models.CharField(max_length=200)
    views = models.IntegerField(default=0)
    tags = models.ManyToManyField(Tag, related_name="articles")
    editor = models.ForeignKey(Author, null=True, on_delete=models.SET_NULL, related_name="edited")
