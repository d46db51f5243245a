"""The private Dagster names the platform uses (`jump_platform/compat.py`) still exist.

After a Dagster upgrade this fails naming what is gone, and the version the names were checked
against: look for a public replacement, else the private name's new home, then update
`compat.CHECKED_AGAINST`.
"""

import importlib
import importlib.metadata
import re
from pathlib import Path

import pytest

PRIVATE_IMPORT = re.compile(r"^\s*(?:from|import)\s+(dagster\w*\._\S*)", re.MULTILINE)
PACKAGE = Path(__file__).parents[1] / "jump_platform"


def test_every_private_dagster_name_still_exists() -> None:
    try:
        compat = importlib.import_module("jump_platform.compat")
    except ImportError as error:
        pytest.fail(f"jump_platform/compat.py, checked against {_checked()}: {error} (installed: {_installed()})")
    for name in compat.__all__:
        assert hasattr(compat, name), f"jump_platform.compat.{name} is gone (checked against {compat.CHECKED_AGAINST})"
    for cls, method in compat.OVERRIDDEN:
        assert hasattr(cls, method), (
            f"{cls.__name__}.{method}, overridden by jump_platform, is gone in {_installed()} "
            f"(checked against {compat.CHECKED_AGAINST})"
        )


def test_the_names_were_checked_against_the_installed_versions() -> None:
    """An upgrade (uv.lock) is a prompt to check the private names again, then note the versions."""
    from jump_platform.compat import CHECKED_AGAINST

    installed = {package: importlib.metadata.version(package) for package in CHECKED_AGAINST}
    assert installed == CHECKED_AGAINST, (
        f"Dagster was upgraded: check the private names of jump_platform/compat.py against {installed}, "
        "then update CHECKED_AGAINST"
    )


def test_no_module_but_compat_imports_a_private_dagster_name() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}: {match}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "compat.py"
        for match in PRIVATE_IMPORT.findall(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "private Dagster imports outside jump_platform/compat.py: " + "; ".join(found)


def _checked() -> str:
    text = (PACKAGE / "compat.py").read_text(encoding="utf-8")
    return re.search(r"CHECKED_AGAINST = (\{.*\})", text).group(1)


def _installed() -> str:
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("dagster", "dagster-dbt"))
