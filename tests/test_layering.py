"""The domain never imports Flask: only volunteers/web may."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent / "volunteers"
DOMAIN = sorted(p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] != "web")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_domain_modules_are_found():
    assert {"models.py", "patrols.py", "accounts.py"} <= {p.name for p in DOMAIN}


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_module_does_not_import_flask(path):
    bad = {m for m in imported_modules(path) if m.split(".")[0].startswith("flask") or m.startswith("volunteers.web")}
    assert not bad, f"{path} imports {bad}"


def test_the_station_clock_is_defined_once():
    """Beijing time has one home (volunteers/localtime.py): a second ZoneInfo or today() is where day edges drift."""
    others = [p for p in ROOT.rglob("*.py") if p.name != "localtime.py"
              and ("ZoneInfo(" in p.read_text() or "\ndef today(" in p.read_text())]
    assert not others, others
