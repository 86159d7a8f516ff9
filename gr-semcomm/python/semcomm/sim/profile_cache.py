"""Error profiles on disk: JSON files with the settings that produced them, refused when stale.

A profile file holds the format marker and version, then the profile's record
(:meth:`ErrorProfile.to_dict <semcomm.sim.error_profile.ErrorProfile.to_dict>`: settings, layout,
counts and rates). :func:`load_profile` with ``expected=`` refuses a file built with other settings
(:class:`StaleProfileError`, naming every differing field, compared field by field, not by a hash) and
any file of another format version; :func:`load_or_build` is the cache training uses
(``<run_dir>/error_profile.json``).
"""
from __future__ import annotations

import json
import os
from typing import Callable

import numpy as np

from ..config.files import read_mapping
from .error_profile import ErrorProfile, ProfileSettings
from .link import ChainSettings

PROFILE_FORMAT = "semcomm.error_profile"
#: Bump when the measurement or the file layout changes: older files are refused (2: the chain's ``fading``).
PROFILE_VERSION = 2


class StaleProfileError(ValueError):
    """A saved error profile was built with other settings (or format) than the ones expected."""


def save_profile(profile: ErrorProfile, path: str) -> None:
    """Write the profile as JSON (settings + counts; derived rates are stored for readers)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as handle:
        json.dump({"format": PROFILE_FORMAT, "version": PROFILE_VERSION, **profile.to_dict()}, handle, indent=1)
        handle.write("\n")
    os.replace(tmp, path)


def load_profile(path: str, expected: ProfileSettings | None = None, **options) -> ErrorProfile:
    """Read a saved profile; with ``expected`` refuse one built with other settings (:class:`StaleProfileError`).
    ``options`` go to :class:`ErrorProfile` (``model``, ``zero_policy``, ``out_of_range``). A file that cannot be
    read or is not JSON raises :class:`semcomm.config.ConfigError` (a ``ValueError``)."""
    source = f"error profile {path!r}"
    data = read_mapping(path, "error profile", syntax="JSON")
    if data.get("format") != PROFILE_FORMAT:
        raise ValueError(f"{source} is not a semcomm error profile (missing format {PROFILE_FORMAT!r})")
    if data.get("version") != PROFILE_VERSION:
        raise StaleProfileError(f"{source} has profile format version {data.get('version')!r}, this semcomm "
                                f"reads version {PROFILE_VERSION}; rebuild it "
                                "(save_profile(ErrorProfile.build(settings), path))")
    profile = ErrorProfile.from_dict(data, source, **options)
    if expected is not None:
        _check_settings(profile.settings, expected, source)
    return profile


def _check_settings(have: ProfileSettings, want: ProfileSettings, source: str) -> None:
    have, want = _flatten(have.to_dict()), _flatten(want.to_dict())
    diffs = [f"{key}: file has {have.get(key)!r}, expected {want.get(key)!r}"
             for key in sorted(set(have) | set(want)) if have.get(key) != want.get(key)]
    if diffs:
        raise StaleProfileError(f"{source} is stale: it was built with other settings (" + "; ".join(diffs)
                                + "). Rebuild it with save_profile(ErrorProfile.build(settings), path) "
                                "(or load_or_build(path, settings, rebuild_stale=True)).")


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def load_or_build(path: str, settings: ProfileSettings, rebuild_stale: bool = False,
                  progress: Callable[[dict], None] | None = None, **options) -> ErrorProfile:
    """The profile at ``path`` if it matches ``settings``; build and save it when missing.

    A stale file raises :class:`StaleProfileError` unless ``rebuild_stale`` (then it is overwritten).
    """
    if os.path.exists(path):
        try:
            return load_profile(path, expected=settings, **options)
        except StaleProfileError:
            if not rebuild_stale:
                raise
    profile = ErrorProfile.build(settings, progress=progress, **options)
    save_profile(profile, path)
    return profile


def build_default_profile(path: str | None = None, *, alphabet=256, num_indices: int | None = 98,
                          labelling: str = "natural", modulation: str = "16qam", code: str = "wifi1944_r12",
                          fading: str = "none", snr_min_db: float = -9.0, snr_max_db: float = 18.0,
                          snr_step_db: float = 0.5, max_frames: int = 500, seed: int = 0,
                          progress: Callable[[dict], None] | None = None, **chain_options) -> ErrorProfile:
    """Build (and, with ``path``, save) the profile of a codec/link; defaults: J=256, T=98, 16-QAM,
    wifi1944_r12, AWGN, Es/N0 -9..18 dB step 0.5, up to 500 frames per point.

    ``chain_options`` go to :class:`ChainSettings` (decoder, max_iterations, llr_method, k_factor_db,
    fading_block, csi). Meant for a ``semcomm`` subcommand; returns the profile.
    """
    settings = ProfileSettings.for_codec(
        alphabet, num_indices if isinstance(alphabet, (int, np.integer)) or str(alphabet).strip().isdigit() else None,
        labelling=labelling, chain=ChainSettings(modulation=modulation, code=code, fading=fading, **chain_options),
        snr_min_db=snr_min_db, snr_max_db=snr_max_db, snr_step_db=snr_step_db, max_frames=max_frames, seed=seed)
    profile = ErrorProfile.build(settings, progress=progress)
    if path:
        save_profile(profile, path)
    return profile
