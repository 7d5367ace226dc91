"""Recipes load into typed dataclasses; bad recipes give one-line ConfigErrors; models use supported ops."""

from __future__ import annotations

import pytest

import edgekws  # noqa: F401
from edgekws.errors import ConfigError
from edgekws.train.recipe import LABELS, available_recipes, load_recipe, recipe_from_dict

ZOO = ("ds-cnn-s", "ds-cnn-m", "ds-cnn-l", "paper-cnn", "cnn-baseline")


def test_zoo_recipes_all_load() -> None:
    assert set(ZOO) <= set(available_recipes())
    for name in ZOO:
        r = load_recipe(name)
        assert r.name == name
        assert r.frontend == "kws-mfcc-49x10"
        assert r.labels == LABELS
        assert r.to_dict()["model"]["convs"][0]["kernel"]  # JSON-able


def test_ds_cnn_s_matches_hello_edge() -> None:
    r = load_recipe("ds-cnn-s")
    assert r.model.arch == "ds_cnn"
    first = r.model.convs[0]
    assert (first.filters, first.kernel, first.strides) == (64, (10, 4), (2, 2))
    assert [b.filters for b in r.model.blocks] == [64, 64, 64, 64]
    assert [b.filters for b in load_recipe("ds-cnn-m").model.blocks] == [172] * 4
    assert [b.filters for b in load_recipe("ds-cnn-l").model.blocks] == [276] * 5


@pytest.mark.parametrize("data, needle", [
    ({"model": {"arch": "rnn", "convs": [{"filters": 4}]}}, "unknown model.arch"),
    ({"model": {"arch": "cnn", "convs": [{"filters": 4, "kernal": 3}]}}, "unknown key"),
    ({"model": {"arch": "cnn", "convs": [{"filters": 4, "kernel": [1, 2, 3]}]}}, "pair of ints"),
    ({"model": {"arch": "cnn", "convs": []}}, "at least one"),
    ({"model": {"arch": "cnn", "convs": [{"filters": 4}]}, "train": {"epoch": 3}}, "unknown key"),
    ({"model": {"arch": "cnn", "convs": [{"filters": 0}]}}, "positive"),
])
def test_bad_recipes_raise_one_line(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        recipe_from_dict(data)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_unknown_recipe_name_lists_known(tmp_path) -> None:
    with pytest.raises(ConfigError, match="ds-cnn-s"):
        load_recipe("no-such-model")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_recipe(bad)
