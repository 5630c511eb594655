"""Every WELLBEAT_* variable the settings read is documented in docs/hub.md, and every
role has a user-guide page."""

from __future__ import annotations

import re
from pathlib import Path

from wellbeat.web.accounts.models import Role

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_documented() -> None:
    source = (ROOT / "src/wellbeat/web/settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"(WELLBEAT_[A-Z_]+)"', source))
    documented = set(re.findall(r"`(WELLBEAT_[A-Z_]+)`", (ROOT / "docs/hub.md").read_text()))
    assert read, "no WELLBEAT_* variables found in settings.py"
    assert sorted(read - documented) == []


def test_every_role_has_a_user_guide_page() -> None:
    guide = ROOT / "docs/user-guide"
    index = (guide / "README.md").read_text(encoding="utf-8")
    for role in Role:
        page = role.value.replace("_", "-") + ".md"
        assert (guide / page).is_file(), f"docs/user-guide/{page} missing"
        assert f"({page})" in index
