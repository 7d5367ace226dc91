"""The task framework: typed configs with KEY=VALUE overrides, config round trip, the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekws.errors import ConfigError
from edgekws.tasks import get_task, task_names
from edgekws.tasks.configs import apply_overrides, describe, from_dict, to_dict
from edgekws.tasks.runner import resolve_config
from edgekws.tasks.tagging_ctc.config import TrainConfig


def test_overrides_parse_by_field_type_and_round_trip() -> None:
    cfg = apply_overrides(TrainConfig(), ["epochs=3", "compose.n_train=12", "variants=crnn-ctc, glu-gap",
                                          "model.channels=8,8,16", "learning_rate=1e-3"])
    assert cfg.epochs == 3 and cfg.compose.n_train == 12 and cfg.variants == ("crnn-ctc", "glu-gap")
    assert cfg.model.channels == (8, 8, 16) and cfg.learning_rate == 1e-3
    assert from_dict(TrainConfig, json.loads(json.dumps(to_dict(cfg)))) == cfg
    assert "compose.n_train = 12" in describe(cfg)


@pytest.mark.parametrize(("override", "message"), [
    ("epochs=three", "epochs: expected an integer"),
    ("epochs=2.5", "epochs: expected an integer"),
    ("compose.nope=1", "unknown config key 'compose.nope'"),
    ("epochs.x=1", "has no sub-keys"),
    ("epochs", "not KEY=VALUE"),
    ("variants=crnn-xyz", "unknown variant(s) crnn-xyz"),
    ("compose.min_events=0", "need 1 <= min_events"),
])
def test_bad_overrides_are_config_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides(TrainConfig(), [override])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_from_dict_is_strict() -> None:
    assert from_dict(TrainConfig, {"epochs": 3.0}).epochs == 3  # JSON may write an integer as 3.0
    with pytest.raises(ConfigError, match="epochs: expected an integer"):
        from_dict(TrainConfig, {"epochs": 2.5})
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) epochz"):
        from_dict(TrainConfig, {"epochz": 3})
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) compose.n_tset"):
        from_dict(TrainConfig, {"compose": {"n_tset": 3}})


def test_config_file_then_overrides(tmp_path: Path) -> None:
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"epochs": 4, "compose": {"n_test": 9}}))
    cfg = resolve_config(TrainConfig, ["compose.n_val=5"], f)
    assert (cfg.epochs, cfg.compose.n_test, cfg.compose.n_val) == (4, 9, 5)
    assert cfg.compose.n_train == TrainConfig().compose.n_train  # a partial file keeps the other defaults
    f.write_text(json.dumps({"task": "tagging-ctc", "config": {"epochs": 6}}))  # an earlier run's task.json
    assert resolve_config(TrainConfig, (), f).epochs == 6
    f.write_text("{not json")
    with pytest.raises(Exception, match="corrupt config file"):
        resolve_config(TrainConfig, (), f)


def test_registry() -> None:
    assert "tagging-ctc" in task_names()
    task = get_task("tagging-ctc")
    assert task.name == "tagging-ctc" and {a.system for a in task.anchors} >= {"crnn-ctc", "glu-gap"}
    with pytest.raises(ConfigError, match="unknown task"):
        get_task("nope")
