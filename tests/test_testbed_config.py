"""hw_configs loader: defaults, every invalid field reported by path, value and allowed range,
dotted overrides, and the shipped loopback / B210 configs."""
import pytest

from semcomm.config import ConfigError, parse_overrides
from semcomm.testbed import load_testbed_config

LOOPBACK = "hw_configs/loopback.yaml"
B210 = "hw_configs/b210.yaml"


def test_empty_config_gets_every_default():
    config = load_testbed_config({})
    assert config["model"] == "models/masked_vqvae_fim_at"
    assert config["data"] == {"dataset": "fashion-mnist", "path": None, "split": "test", "num_images": 100,
                              "start": 0, "images_per_s": 0, "seed": None}
    modem = config["modem"]
    assert (modem["sps"], modem["rolloff"], modem["rrc_span"], modem["guard_symbols"], modem["detect_threshold"]) \
        == (4, 0.35, 8, 64, 0.5)
    assert (config["channel"]["cfo"], config["channel"]["timing_offset"]) == (0, 0)
    assert config["attacker"]["h_a"] == 1 and config["attacker"]["enabled"] is False
    assert config["endpoints"]["radios"] is None
    assert config["endpoints"]["tx_out"].startswith("tcp://127.0.0.1:")


def test_partial_section_keeps_given_values_and_fills_the_rest():
    config = load_testbed_config({"channel": {"snr_db": 3.5},
                                  "endpoints": {"radios": {"receiver": {"serial": "31A"}}}})
    assert config["channel"]["snr_db"] == 3.5 and config["channel"]["fading"] == "none"
    radios = config["endpoints"]["radios"]
    assert radios["receiver"]["serial"] == "31A" and radios["receiver"]["sample_rate"] > 0
    assert radios["attacker"]["master_clock_rate"] == 32e6  # a radio left out gets a B210's defaults


@pytest.mark.parametrize("section, field, value, expected", [
    ("channel", "snr_db", 61,
     "channel/snr_db: 61 is greater than the maximum of 60; allowed: number with -20 <= x <= 60"),
    ("channel", "cfo", -0.06,
     "channel/cfo: -0.06 is less than the minimum of -0.05; allowed: number with -0.05 <= x <= 0.05"),
    ("channel", "timing_offset", -1,
     "channel/timing_offset: -1 is less than the minimum of 0; allowed: number with 0 <= x"),
    ("channel", "fading", "nakagami", "channel/fading: 'nakagami' is not one of ['none', 'rayleigh', 'rician']"),
    ("channel", "fading_block", 0,
     "channel/fading_block: 0 is less than the minimum of 1; allowed: integer with 1 <= x"),
    ("modem", "modulation", "8psk", "modem/modulation: '8psk' is not one of ['bpsk', 'qpsk', '16qam', '64qam']"),
    ("modem", "decoder", "bp", "modem/decoder: 'bp' is not one of"),
    ("modem", "max_iterations", 101,
     "modem/max_iterations: 101 is greater than the maximum of 100; allowed: integer with 1 <= x <= 100"),
    ("modem", "sps", 4.5, "modem/sps: 4.5 is not of type 'integer'; allowed: integer with 2 <= x <= 16"),
    ("modem", "sps", 1, "modem/sps: 1 is less than the minimum of 2"),
    ("modem", "rolloff", 0.01,
     "modem/rolloff: 0.01 is less than the minimum of 0.05; allowed: number with 0.05 <= x <= 1"),
    ("modem", "rrc_span", 40, "modem/rrc_span: 40 is greater than the maximum of 32"),
    ("modem", "guard_symbols", -1, "modem/guard_symbols: -1 is less than the minimum of 0"),
    ("modem", "detect_threshold", 1.5, "modem/detect_threshold: 1.5 is greater than the maximum of 1"),
    ("modem", "code", "turbo", "modem/code: unknown LDPC code 'turbo'; allowed: "),
    ("data", "dataset", "mnist", "data/dataset: 'mnist' is not one of ['fashion-mnist', 'cifar10', 'folder']"),
    ("data", "split", "val", "data/split: 'val' is not one of ['train', 'test']"),
    ("data", "num_images", 0, "data/num_images: 0 is less than the minimum of 1"),
    ("data", "images_per_s", -1, "data/images_per_s: -1 is less than the minimum of 0"),
    ("attacker", "psr_db", 31,
     "attacker/psr_db: 31 is greater than the maximum of 30; allowed: number with -60 <= x <= 30"),
    ("attacker", "tone_freq", 0.5, "attacker/tone_freq: 0.5 is greater than or equal to the maximum of 0.5; "
                                   "allowed: number with -0.5 < x < 0.5"),
    ("attacker", "mode", "sweep", "attacker/mode: 'sweep' is not one of ['free_running', 'frame_aligned']"),
    ("attacker", "kind", "pgd", "attacker/kind: 'pgd' is not one of ['gaussian', 'tone', 'perturbation']"),
    ("attacker", "h_a", -0.5, "attacker/h_a: -0.5 is less than the minimum of 0"),
    ("attacker", "enabled", "yes", "attacker/enabled: 'yes' is not of type 'boolean'"),
    ("attacker", "sense_threshold", 0, "attacker/sense_threshold: 0 is less than or equal to the minimum of 0"),
    ("endpoints", "tx_out", "ipc:///tmp/tx", "endpoints/tx_out: 'ipc:///tmp/tx' does not match '^tcp://'"),
    ("endpoints", "radios", {"receiver": {"sample_rate": 0}},
     "endpoints/radios/receiver/sample_rate: 0 is less than or equal to the minimum of 0"),
    ("endpoints", "radios", {"attacker": {"center_freq": 6.5e9}},
     "endpoints/radios/attacker/center_freq: 6500000000.0 is greater than the maximum of 6000000000.0"),
    ("endpoints", "radios", {"transmitter": {"tx_gain": 90}},
     "endpoints/radios/transmitter/tx_gain: 90 is greater than the maximum of 89.75"),
    ("endpoints", "radios", {"receiver": {"sample_rate": 64e6}},
     "endpoints/radios/receiver/sample_rate: 64000000.0 is greater than or equal to the maximum of 61440000.0"),
    ("channel", "snr", 10, "channel: Additional properties are not allowed ('snr' was unexpected); allowed: object "
                           "with keys snr_db, cfo"),
])
def test_each_invalid_field_is_reported_by_path_value_and_range(section, field, value, expected):
    with pytest.raises(ConfigError) as err:
        load_testbed_config({section: {field: value}})
    assert expected in str(err.value)


def test_all_errors_are_listed_at_once_and_unknown_sections_refused():
    with pytest.raises(ConfigError) as err:
        load_testbed_config({"channel": {"snr_db": 99}, "modem": {"sps": 0}, "radio": {}})
    text = str(err.value)
    assert "channel/snr_db: 99" in text and "modem/sps: 0" in text and "'radio' was unexpected" in text


def test_dataset_without_default_location_needs_a_path():
    with pytest.raises(ConfigError, match="data/path: None is not allowed for dataset 'cifar10'"):
        load_testbed_config({"data": {"dataset": "cifar10"}})
    assert load_testbed_config({"data": {"dataset": "folder", "path": "imgs"}})["data"]["path"] == "imgs"


def test_overrides_use_dotted_paths_and_are_validated():
    config = load_testbed_config(LOOPBACK, {"channel.snr_db": 5, "attacker.enabled": True, "name": "x5"})
    assert config["channel"]["snr_db"] == 5 and config["attacker"]["enabled"] and config["name"] == "x5"
    assert config["modem"]["modulation"] == "16qam"  # untouched fields stay as in the file
    with pytest.raises(ConfigError, match="channel/snr_db: -30 is less than the minimum of -20"):
        load_testbed_config(LOOPBACK, {"channel.snr_db": -30})
    with pytest.raises(ConfigError, match="'snr' was unexpected"):
        load_testbed_config(LOOPBACK, {"channel.snr": 5})
    with pytest.raises(ConfigError, match="override name.first: name is not a section"):
        load_testbed_config(LOOPBACK, {"name.first": 5})


def test_parse_overrides_reads_yaml_scalars():
    assert parse_overrides(["channel.snr_db=5", "attacker.enabled=true", "modem.code=none", "data.seed=null",
                            "name='12'"]) == {"channel.snr_db": 5, "attacker.enabled": True, "modem.code": "none",
                                              "data.seed": None, "name": "12"}
    with pytest.raises(ConfigError, match="must look like section.field=value"):
        parse_overrides(["channel.snr_db"])


def test_shipped_loopback_config():
    config = load_testbed_config(LOOPBACK)
    assert config["channel"]["snr_db"] == 10
    modem = config["modem"]
    assert (modem["modulation"], modem["code"], modem["sps"]) == ("16qam", "wifi1944_r12", 4)
    attacker = config["attacker"]
    assert not attacker["enabled"]
    assert (attacker["kind"], attacker["psr_db"], attacker["sync"]) == ("perturbation", -2, "reactive")
    assert config["endpoints"] == {"tx_out": "tcp://127.0.0.1:55501", "attacker_out": "tcp://127.0.0.1:55502",
                                   "channel_out": "tcp://127.0.0.1:55503", "sense_out": "tcp://127.0.0.1:55504",
                                   "radios": None}


def test_shipped_b210_config_differs_from_loopback_only_in_endpoints():
    loopback, b210 = load_testbed_config(LOOPBACK), load_testbed_config(B210)
    assert {key for key in loopback if loopback[key] != b210[key]} == {"endpoints"}
    radios = b210["endpoints"]["radios"]
    assert {radio["sample_rate"] for radio in radios.values()} == {1e6}
    assert {radio["center_freq"] for radio in radios.values()} == {2.45e9}


def test_radios_must_clock_by_integers_and_share_the_link():
    with pytest.raises(ConfigError) as err:
        load_testbed_config({"endpoints": {"radios": {"receiver": {"master_clock_rate": 30e6, "sample_rate": 0.7e6},
                                                      "attacker": {"center_freq": 2.4e9}}}})
    message = str(err.value)
    assert "endpoints/radios/receiver/master_clock_rate: 3e+07 Hz is 42.86 x the sample rate" in message
    assert "endpoints/radios/*/sample_rate: the radios differ" in message
    assert "endpoints/radios/*/center_freq: the radios differ" in message


def test_every_config_field_but_the_name_sets_a_flowgraph_parameter():
    from semcomm.testbed.config import SCHEMA
    from semcomm.testbed.parameters import FROM_CONFIG

    def leaves(schema, prefix=""):
        for key, sub in schema["properties"].items():
            yield from leaves(sub, f"{prefix}{key}.") if "properties" in sub else [prefix + key]

    used = {source for _, source in FROM_CONFIG.values() if isinstance(source, str)}
    # usrp_args: args, serial and master clock; capture_taps, multipath, dc_offset_db: converted by functions;
    # the radios: each role's (radio.*)
    radio_fields = {source.removeprefix("radio.") for source in used if source.startswith("radio.")}
    assert radio_fields | {"args", "serial", "master_clock_rate"} == set(leaves(SCHEMA["properties"]["endpoints"]
                                                                               ["properties"]["radios"]
                                                                               ["properties"]["receiver"]))
    assert {leaf for leaf in leaves(SCHEMA) if not leaf.startswith("endpoints.radios.")} - used == \
        {"name", "capture.taps", "channel.multipath", "channel.dc_offset_db"}


def test_unreadable_or_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read testbed config"):
        load_testbed_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("channel: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_testbed_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="must be a mapping of sections"):
        load_testbed_config(bad)
