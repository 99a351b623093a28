"""The domain never imports Flask: only volunteers/web may."""
import ast
import re
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


WEB = ROOT / "web"


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def blueprint_of(module: str) -> str:
    """The blueprint a web module belongs to: volunteers.web.api.tasks is part of volunteers.web.api."""
    return ".".join(module.split(".")[:3])


def imported_names(path: Path) -> set[str]:
    """Imported modules, `from volunteers.web import voice` counting as volunteers.web.voice."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_a_blueprint_takes_no_helper_from_another_blueprints_module():
    """What two blueprints share lives in volunteers/web/views.py (or another module without routes), never in one
    of them: a blueprint importing another's module is how the copies and the cycles start (issue 17)."""
    modules = {module_of(p): p for p in WEB.rglob("*.py")}
    with_routes = {blueprint_of(m) for m, p in modules.items() if "Blueprint(" in p.read_text()}
    assert {"volunteers.web.hazards", "volunteers.web.api", "volunteers.web.photos"} <= with_routes
    bad = sorted(f"{m} imports {name}" for m, p in modules.items() if blueprint_of(m) in with_routes
                 for name in imported_names(p)
                 if name in modules and blueprint_of(name) in with_routes and blueprint_of(name) != blueprint_of(m))
    assert not bad, bad


@pytest.mark.parametrize("helper", ["translate", "page", "fragment_wanted", "client_ip", "submit"])
def test_each_shared_view_helper_is_defined_once(helper):
    """One `translate`, one `page` … in volunteers/web/views.py: a second copy drifts from the first (issue 17)."""
    defined = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
                     if re.search(rf"^\s*def {helper}\(", p.read_text(), re.M))
    assert defined == ["web/views.py"], defined
