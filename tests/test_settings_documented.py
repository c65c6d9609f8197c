"""The settings table feeds the README, --help and the loader: none of them may drift."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from playhead.cli import cli
from playhead.config import SETTINGS, Settings, load_settings, settings_table_markdown
from playhead.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text()
    start = text.index("<!-- settings-table:start -->\n") + len("<!-- settings-table:start -->\n")
    end = text.index("<!-- settings-table:end -->")
    assert text[start:end].strip() == settings_table_markdown()


def test_help_lists_every_flag_and_variable() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for setting in SETTINGS:
        assert setting.flag in result.output
        assert setting.env in result.output


def test_table_and_settings_dataclass_agree() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert fields == {s.name: s.default for s in SETTINGS}


def test_precedence_explicit_over_environment_over_default() -> None:
    env = {"PLAYHEAD_PORT": "9000", "PLAYHEAD_STRICT": "yes", "PLAYHEAD_PREFIX": "va/"}
    assert load_settings({}, env).port == 9000
    assert load_settings({"port": 9100}, env).port == 9100
    assert load_settings({}, env).strict is True
    assert load_settings({}, env).prefix == "/va"
    assert load_settings({}, {}).port == 8000


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"port": "x"}, "port (PLAYHEAD_PORT): expected int, got 'x'"),
        ({"idle_timeout": 0}, "idle_timeout must be greater than 0, got 0.0"),
        ({"sqlite_sync": "off"}, "sqlite_sync must be NORMAL or FULL, got 'off'"),
        ({"nope": 1}, "unknown setting(s): nope"),
    ],
)
def test_bad_values_are_config_errors(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(values, {})
    assert str(info.value) == message
