import datetime as dt

import pytest

from cdop.config import ConfigError, load_policy, settings_from_env


def test_no_key_outside_demo_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="CDOP_ENCRYPTION_KEYS is not set"):
        settings_from_env({"CDOP_HOME": str(tmp_path)})


def test_demo_mode_makes_a_key_once(tmp_path):
    first = settings_from_env({"CDOP_HOME": str(tmp_path), "CDOP_DEMO": "1"})
    second = settings_from_env({"CDOP_HOME": str(tmp_path), "CDOP_DEMO": "1"})
    assert first.encryption_keys == second.encryption_keys
    assert (tmp_path / "demo-encryption.key").stat().st_mode & 0o077 == 0


def test_bad_key_is_named_not_echoed(tmp_path):
    with pytest.raises(ConfigError) as err:
        settings_from_env({"CDOP_HOME": str(tmp_path), "CDOP_ENCRYPTION_KEYS": "sekrit-not-a-key"})
    assert "key 1 is not a valid Fernet key" in str(err.value) and "sekrit" not in str(err.value)


def test_plain_smtp_only_to_loopback(tmp_path):
    with pytest.raises(ConfigError, match="CDOP_SMTP_SECURITY"):
        settings_from_env({"CDOP_HOME": str(tmp_path), "CDOP_DEMO": "1", "CDOP_SMTP_HOST": "mail.example.org"})
    s = settings_from_env({"CDOP_HOME": str(tmp_path), "CDOP_DEMO": "1", "CDOP_SMTP_HOST": "mail.example.org",
                           "CDOP_SMTP_SECURITY": "starttls", "CDOP_SMTP_PORT": "587"})
    assert s.smtp.port == 587


@pytest.mark.parametrize("toml, setting", [
    ("return_due_working_days = 0", "return_due_working_days"),
    ("secure_domains = ['nhs']", "secure_domains"),
    ("coordinator_email = 'nobody'", "coordinator_email"),
    ("unknown_setting = 1", "unknown_setting"),
    ("chase_ladder = [{after_working_days = 10, action = 'reminder'}, {after_working_days = 5, action = 'reminder'}]", "chase_ladder"),
])
def test_bad_policy_setting_stops_start_up_naming_it(tmp_path, toml, setting):
    policy = tmp_path / "policy.toml"
    policy.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_policy(policy)
    assert setting in str(err.value)


def test_secure_domain_matching():
    policy = load_policy(None)
    assert policy.is_secure_address("someone@nhs.net")
    assert policy.is_secure_address("x@democounty.gov.uk")
    assert not policy.is_secure_address("x@notnhs.net")
    assert not policy.is_secure_address("x@school.example.org.uk")


def test_today_for_a_person_is_the_date_in_england():
    from cdop.clock import today_in_england

    # 23:30 UTC on a summer evening is already the next day in England (BST, UTC+1).
    assert today_in_england(dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 7, 2)
    # In winter England is on UTC.
    assert today_in_england(dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 1)


def _policy_file(tmp_path, text: str) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_outside_demo_mode_the_office_details_are_required_and_named(tmp_path):
    from cryptography.fernet import Fernet

    env = {"CDOP_HOME": str(tmp_path), "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    with pytest.raises(ConfigError) as err:
        settings_from_env(env)  # no policy file: every office detail is a placeholder
    for name in ("office.name", "office.email", "office.phone", "office.secure_email",
                 "office.coordinator", "mail_from"):
        assert f"'{name}'" in str(err.value)
    partial = _policy_file(tmp_path, 'mail_from = "office@area.nhs.net"\n[office]\nname = "Area CDOP office"\n'
                                     'email = "office@area.nhs.net"\nsecure_email = "office@area.nhs.net"\n'
                                     'coordinator = "Sam Lee, CDOP coordinator"\n')
    with pytest.raises(ConfigError) as err:
        settings_from_env({**env, "CDOP_POLICY_FILE": partial})
    assert "'office.phone'" in str(err.value) and "'office.name'" not in str(err.value)
    # Demo mode keeps the placeholders.
    demo = settings_from_env({"CDOP_HOME": str(tmp_path), "CDOP_DEMO": "1"})
    assert demo.policy.office.phone == "01234 567890"


def test_the_office_details_set_in_policy_start_the_cdop(tmp_path):
    from cryptography.fernet import Fernet

    from tests.conftest import OFFICE_POLICY

    s = settings_from_env({"CDOP_HOME": str(tmp_path), "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                           "CDOP_POLICY_FILE": OFFICE_POLICY})
    assert s.policy.office.coordinator == "Alex Morgan, CDOP coordinator"
    assert s.policy.mail_from == "cdop.office@demo-area.nhs.net"
