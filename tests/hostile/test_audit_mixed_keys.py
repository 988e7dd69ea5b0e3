"""A log whose entries carry MACs, verified without the key, or extended without it.

An entry without a MAC after entries with MACs was added by someone without the key (or by
a run that lost it): a problem with or without the key. Without the key, a keyed log's MACs
cannot be checked, so what they guard is "not verified", never OK. With the key, entries of a
log begun without one are not said to be guarded by MACs they do not have.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.audit import log as audit
from migrate.config import Settings, load_settings

KEY = "k" * 32


def _append(settings: Settings, mp: pytest.MonkeyPatch, keyed: bool, n: int) -> None:
    mp.delenv("MIGRATE_AUDIT_KEY_FILE", raising=False)
    if keyed:
        mp.setenv("MIGRATE_AUDIT_KEY", KEY)
    else:
        mp.delenv("MIGRATE_AUDIT_KEY", raising=False)
    for i in range(n):
        audit.append(settings, "counts", {"run_id": "r", "n": i})


def _verify(settings: Settings, mp: pytest.MonkeyPatch, keyed: bool) -> audit.VerifyResult:
    if keyed:
        mp.setenv("MIGRATE_AUDIT_KEY", KEY)
    else:
        mp.delenv("MIGRATE_AUDIT_KEY", raising=False)
    return audit.verify(audit.log_path(settings), settings)


@pytest.mark.parametrize("keyed", [True, False], ids=["with key", "without key"])
def test_an_entry_without_a_mac_after_keyed_entries_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyed: bool
) -> None:
    settings = load_settings(tmp_path)
    _append(settings, monkeypatch, True, 6)
    _append(settings, monkeypatch, False, 1)  # forged: chained, but no MAC
    result = _verify(settings, monkeypatch, keyed)
    assert not result.ok
    assert any(p.seq == 7 and "no MAC" in p.message for p in result.problems), result.problems


def test_a_keyed_log_without_the_key_is_not_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(tmp_path)
    _append(settings, monkeypatch, True, 3)
    result = _verify(settings, monkeypatch, False)
    assert not result.ok
    assert [p.message.split(":")[0] for p in result.problems] == ["not verified"]


def test_a_log_begun_without_a_key_is_not_said_guarded_by_macs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(tmp_path)
    _append(settings, monkeypatch, False, 4)
    result = _verify(settings, monkeypatch, True)
    assert not any("guarded by their MACs" in n for n in result.notes), result.notes
    assert any("4 entries after the newest checkpoint" in n and "no MAC" in n for n in result.notes)
