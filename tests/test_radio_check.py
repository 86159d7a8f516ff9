"""`semcomm radio check`: with the real UHD and no radio attached it reports every radio missing and exits 1;
the matching rule (serials first, then the devices left in UHD's order) on gr-uhd's device addresses."""
import os

import pytest

uhd = pytest.importorskip("gnuradio.uhd", reason="gr-uhd (gnuradio.uhd) cannot be imported")

from semcomm.cli import main  # noqa: E402
from semcomm.testbed.config import load_testbed_config  # noqa: E402
from semcomm.testbed.radio import check, match_radios  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B210 = os.path.join(ROOT, "hw_configs", "b210.yaml")


def test_without_radios_every_radio_is_missing_and_the_command_fails(capsys):
    report = check(load_testbed_config(B210))
    assert not report["ok"] and report["devices"] == []
    assert all(entry["device"] is None for entry in report["radios"].values())
    assert main(["radio", "check", "--config", B210]) == 1
    out = capsys.readouterr().out
    assert "transmitter" in out and "missing: transmitter, receiver, attacker" in out


def test_serials_are_matched_first_then_the_devices_left():
    config = load_testbed_config(B210, {"endpoints.radios.attacker.serial": "AAA"})
    addresses = [uhd.device_addr_t(f"type=b200,product=B210,serial={serial}") for serial in ("111", "AAA", "222")]
    found = [{"type": "b200", "product": "B210", "serial": serial} for serial in ("111", "AAA", "222")]
    matched = match_radios(config, found)
    assert {name: device["serial"] for name, device in matched.items()} == \
        {"transmitter": "111", "receiver": "222", "attacker": "AAA"}
    report = check(config, find=lambda args: addresses[:2])  # only two B210s connected
    assert not report["ok"] and report["radios"]["receiver"]["device"] is None


def test_a_config_without_radios_is_refused():
    with pytest.raises(ValueError, match="no endpoints.radios section"):
        match_radios(load_testbed_config({}), [])
