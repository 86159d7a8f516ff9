"""``semcomm radio check``: which USRP B210s UHD finds, and whether each radio of a testbed config
(``endpoints.radios``: transmitter, receiver, attacker) is among them.

Matching: a radio with a ``serial`` needs the device with that serial; radios without one take the devices
left, in the order UHD lists them (so three radios without serials need three B210s). With ``open_devices``
each matched device is opened (a gr-uhd USRP source, with the radio's args and master clock) and its
motherboard and daughterboard identification is reported (UHD prints firmware and FPGA versions while it
opens a B210, and refuses one whose FPGA image does not match the host's UHD).
"""
from __future__ import annotations

from .parameters import ROLE_RADIO, parameter_values

RADIO_ROLES = {radio: role for role, radio in ROLE_RADIO.items()}  #: radio -> the graph that drives it


def find_b210s(find=None) -> list[dict]:
    """The B200-series devices UHD finds (``type``, ``serial``, ``product``, ``name``, ...); ``find``: a function of
    device arguments returning UHD device addresses (default gr-uhd's ``uhd.find``; given in tests). gr-uhd, not
    UHD's own Python module: both register the same C++ types, and one process can import only one of them."""
    if find is None:
        from gnuradio import uhd

        def find(args):
            return uhd.find(uhd.device_addr_t(args))
    return [_address(device) for device in find("type=b200")]


def _address(device) -> dict:
    """A UHD device address (``key=value,...``) as a dict."""
    return dict(part.split("=", 1) for part in device.to_string().split(",") if "=" in part)


def match_radios(config: dict, devices: list[dict]) -> dict:
    """radio -> the device it would use (None: missing), by the module doc's rule."""
    radios = config["endpoints"]["radios"]
    if radios is None:
        raise ValueError("the config has no endpoints.radios section (hw_configs/b210.yaml has one)")
    left = list(devices)
    matched = {}
    for name, radio in radios.items():
        if radio["serial"]:
            found = [device for device in left if device.get("serial") == radio["serial"]]
            matched[name] = found[0] if found else None
            if found:
                left.remove(found[0])
    for name, radio in radios.items():
        if not radio["serial"]:
            matched[name] = left.pop(0) if left else None
    return {name: matched[name] for name in radios}


def check(config: dict, open_devices: bool = False, find=None) -> dict:
    """The report: ``devices`` found, per radio its device (or None) and, opened, its identification; ``ok``
    when every radio has one."""
    devices = find_b210s(find)
    matched = match_radios(config, devices)
    radios = {}
    for name, device in matched.items():
        entry = {"wanted_serial": config["endpoints"]["radios"][name]["serial"] or "(any)", "device": device}
        if device is not None and open_devices:
            entry["info"] = _identify(config, name, device)
        radios[name] = entry
    return {"devices": devices, "radios": radios, "ok": all(device is not None for device in matched.values())}


def _identify(config: dict, name: str, device: dict) -> dict:
    """Open the device as the radio's graph would (args, serial, master clock) and read its identification."""
    from gnuradio import uhd

    args = parameter_values(config, ["usrp_args"], RADIO_ROLES[name])["usrp_args"]
    if "serial=" not in args and device.get("serial"):
        args += f",serial={device['serial']}"
    source = uhd.usrp_source(uhd.device_addr_t(args), uhd.stream_args(cpu_format="fc32", channels=[0]))
    return {"usrp": dict(source.get_usrp_info(0)), "master_clock_rate": source.get_clock_rate(0)}


def format_report(report: dict) -> str:
    lines = [f"UHD found {len(report['devices'])} B200-series device(s)"]
    lines += [f"  {device.get('product', '?')} serial {device.get('serial', '?')} name {device.get('name', '')!r}"
              for device in report["devices"]]
    for name, entry in report["radios"].items():
        device = entry["device"]
        state = f"{device.get('product', '?')} serial {device.get('serial', '?')}" if device else "MISSING"
        lines.append(f"{name:12s} (serial {entry['wanted_serial']}, semcomm run {RADIO_ROLES[name]}): {state}")
        for key, value in (entry.get("info") or {}).items():
            lines.append(f"    {key}: {value}")
    if not report["ok"]:
        missing = [name for name, entry in report["radios"].items() if entry["device"] is None]
        lines.append(f"missing: {', '.join(missing)} — connect the B210(s) (USB 3), check `uhd_find_devices`, and set "
                     f"each radio's serial in endpoints.radios when several are connected")
    return "\n".join(lines)
