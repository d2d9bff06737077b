"""Inputs that reached the command line's catch-all ("unexpected error") now get an
error naming the field, without the value; and `make run` makes CDOP_HOME's folders
(var/mail/ among them) owner-only."""

import os
import stat
import subprocess

from sqlalchemy import select

from cdop.panel.meetings import add_member
from cdop.store.db import unit_of_work
from cdop.store.models import AuditEvent, PanelMember
from tests.conftest import ROOT, cli

HUGE_ID = "123456789012345678901234567890"


def test_a_30_digit_outbox_id_is_refused_naming_the_field(settings):
    result = cli("outbox", "release", HUGE_ID)
    assert result.returncode == 2, result.stderr
    assert "field 'message'" in result.stderr and "is not an outbox id" in result.stderr
    assert HUGE_ID not in result.stderr + result.stdout
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


def test_a_non_utf8_byte_in_a_members_email_is_refused_naming_the_field(settings):
    add_member(settings, name="Grace O’Neill-Weiß", role="Chair", email="grace.oneill@nhs.net")
    # As a shell passes it: the raw byte 0xFF in the argument (Python sees a surrogate).
    typed = os.fsdecode(b"grace.o\xffneill@nhs.net")
    result = cli("panel", "member", "deactivate", typed)
    assert result.returncode == 2, result.stderr
    assert "field 'email'" in result.stderr and "is not a valid email address" in result.stderr
    assert "neill@" not in result.stderr and "unexpected" not in result.stderr
    with unit_of_work(settings) as uow:  # nothing written
        assert uow.session.scalar(select(PanelMember.active)) is True
        assert uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "member_deactivated")) is None
    # The same address, well formed, still works.
    assert cli("panel", "member", "deactivate", "Grace.ONeill@nhs.net").returncode == 0


def test_make_run_creates_cdop_home_and_its_mail_folder_owner_only(tmp_path):
    """The lines of scripts/run.sh before its first command that needs the stack: the
    environment and the folders it makes, run as they are under a permissive umask."""
    script = (ROOT / "scripts/run.sh").read_text()
    prologue = script[: script.index("\n", script.index('mkdir -p "$AIRFLOW_HOME"')) + 1]
    home = tmp_path / "var"
    env = {"PATH": os.environ["PATH"], "CDOP_HOME": str(home)}
    result = subprocess.run(["bash", "-c", f"umask 022\n{prologue.replace('$0', str(ROOT / 'scripts/run.sh'))}"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    made = [home, home / "mail", home / "airflow"]
    assert all(p.is_dir() for p in made)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in made} == {
        "var": "0o700", "mail": "0o700", "airflow": "0o700"}
