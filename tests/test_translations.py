"""Translations: every string in the code is in the Simplified Chinese catalog and translated, placeholders
survive translation, the committed .mo files match the .po files, and the pages really come out in Chinese
by default and in English after switching.

Simplified Chinese lives in translations/zh_Hans_CN: Babel parses the configured locale "zh_CN" as
zh_Hans_CN, and gettext then looks only in zh_Hans_CN/ and zh/ — a zh_CN/ folder would never be read.
After adding or changing strings, run bin/translations and fill in every empty msgstr in the zh_Hans_CN .po."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlmodel import select

from volunteers.models import Hazard

from tests.conftest import VOLUNTEER

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
ZH = "zh_Hans_CN"
LOCALES = (ZH, "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")
# The same command bin/translations runs.
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "N_", "-k", "_", "-k", "gettext", "-k", "ngettext:1,2",
           "-k", "lazy_gettext", "--no-location", "--sort-output", "--omit-header"]
SOURCES = ["app.py", "volunteers", "templates"]


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path, reader, locale: str):
    with path.open("rb") as f:
        return reader(f, locale=locale) if reader is read_po else reader(f)


def key(message) -> str:
    """A message's msgid (the singular one for plurals)."""
    return message.id[0] if isinstance(message.id, (tuple, list)) else message.id


def strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def as_tuple(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def entries(catalog):
    return [m for m in catalog if m.id]


@pytest.fixture(scope="module")
def fresh_pot(tmp_path_factory) -> Path:
    """A fresh extraction of today's source, exactly as bin/translations makes it."""
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(out), *SOURCES],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def zh_catalog():
    return read_catalog(po_path(ZH), read_po, ZH)


def test_extraction_finds_the_strings(fresh_pot):
    """Guards the extraction itself: the Python code, the N_() labels and the templates all reach the .pot."""
    ids = {key(m) for m in entries(read_catalog(fresh_pot, read_po, "en"))}
    assert {"Start patrol", "Log in", "Closed", "Fire safety", "This report does not exist."} <= ids
    assert len(ids) > 100


def test_every_string_in_the_code_is_in_the_chinese_catalog(fresh_pot, zh_catalog):
    """A new string in a template or in Python must be added with bin/translations and translated."""
    extracted = {key(m) for m in entries(read_catalog(fresh_pot, read_po, "en"))}
    in_catalog = {key(m) for m in entries(zh_catalog)}
    missing = sorted(extracted - in_catalog)
    assert not missing, (f"{len(missing)} string(s) are not in translations/{ZH}; run bin/translations "
                         f"and translate them:\n" + "\n".join(missing))


def test_every_chinese_entry_is_translated_and_not_fuzzy(zh_catalog):
    untranslated = sorted(key(m) for m in entries(zh_catalog) if not all(s.strip() for s in strings(m)))
    fuzzy = sorted(key(m) for m in entries(zh_catalog) if m.fuzzy)
    assert not untranslated, f"untranslated in translations/{ZH}:\n" + "\n".join(untranslated)
    assert not fuzzy, f"fuzzy (check, then remove the flag) in translations/{ZH}:\n" + "\n".join(fuzzy)


def test_chinese_keeps_every_placeholder(zh_catalog):
    """%(name)s and friends are filled in by the code: a lost or renamed one breaks the page or hides a value."""
    wrong = []
    for m in entries(zh_catalog):
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        expected = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for s in strings(m):
            if s and set(PLACEHOLDER.findall(s)) != expected:
                wrong.append(f"{key(m)!r} → {s!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_chinese_keeps_numbers_the_javascript_replaces(zh_catalog):
    """Numbers such as 999999 in a msgid are stand-ins the JavaScript swaps for real values."""
    wrong = [key(m) for m in entries(zh_catalog)
             for number in re.findall(r"\d{4,}", key(m)) if not all(number in s for s in strings(m))]
    assert not wrong, "numbers lost in translation:\n" + "\n".join(wrong)


@pytest.mark.parametrize("locale", LOCALES)
def test_committed_mo_matches_the_po(locale):
    """The .mo is what the app reads and is committed (a fresh clone has no compile step): it must not lag."""
    po = read_catalog(po_path(locale), read_po, locale)
    mo = read_catalog(po_path(locale).with_suffix(".mo"), read_mo, locale)
    expected = {as_tuple(m.id): as_tuple(m.string) for m in entries(po)
                if all(strings(m)) and not m.fuzzy and as_tuple(m.string) != as_tuple(m.id)}
    # Babel compiles an untranslated plural entry as its own msgids, which shows the same as no entry.
    compiled = {as_tuple(m.id): as_tuple(m.string) for m in entries(mo) if as_tuple(m.string) != as_tuple(m.id)}
    assert compiled == expected, f"translations/{locale} .mo is stale: run bin/translations and commit it"


def test_login_page_is_chinese_by_default_and_english_on_request(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录" in html and "手机号" in html and "密码" in html
    assert "Phone number" not in html
    client.post("/lang", data={"lang": "en"})
    html = client.get("/login").get_data(as_text=True)
    assert "Log in" in html and "Phone number" in html
    assert "手机号" not in html


def test_a_chinese_browser_gets_chinese_and_an_english_one_english(client):
    assert "手机号" in client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "Phone number" in client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)


def test_volunteer_home_says_start_patrol_in_the_chosen_language(login_as):
    volunteer = login_as(VOLUNTEER)
    assert "开始巡逻" in volunteer.get("/").get_data(as_text=True)
    volunteer.post("/lang", data={"lang": "en"})
    html = volunteer.get("/").get_data(as_text=True)
    assert "Start patrol" in html and "开始巡逻" not in html


def test_api_errors_come_in_chinese(login_as):
    response = login_as(VOLUNTEER).get("/api/v1/patrols/99999")
    assert response.status_code == 404 and response.is_json
    message = response.json["error"]["message"]
    assert re.search(r"[\u4e00-\u9fff]", message), message


def test_state_labels_from_the_domain_are_translated(login_as, town):
    """hazards.STATE_LABELS is marked with N_() and translated in the template: a closed report says 已销号."""
    reporter = town.user(VOLUNTEER)
    closed = town.session.exec(select(Hazard).where(Hazard.reporter_id == reporter.id,
                                                    Hazard.status == "closed")).first()
    assert closed is not None, "the demo town should have a closed report by this volunteer"
    html = login_as(VOLUNTEER).get("/hazards/mine").get_data(as_text=True)
    row = html[html.index(f'id="my-report-{closed.id}"'):]
    assert "已销号" in row[:row.index("</li>")]
