"""One configuration system for the training configs (``models/configs/``) and the testbed configs
(``hw_configs/``): YAML files, validated by a JSON schema on load, with one error type.

- **Loading** (:func:`load`): a YAML mapping of sections, its ``extends`` chain resolved, dotted overrides
  applied, then validated by the caller's schema; an error names the file.
- **``extends: <name>``**: a config may start from another one and override it with its own keys, mappings
  key by key, any other value (a list too) as a whole; the base may itself extend another. A config that
  extends one must set its own ``name``. ``extends`` itself is not part of the resolved config, so a config
  written out in full and one that extends a base resolve to the same dict.
- **Finding a config by name** (:func:`find_config`, for ``extends`` and for the runs a training config
  names, ``train.init_from`` / ``train.distill_from``): ``<name>.yaml`` in the directory of the config that
  names it, failing that in that directory's parent. So an experiment in ``models/configs/experiments/``
  extends (or starts from the run of) a shipped config one level up, and a shipped config never depends
  on an experiment.
- **YAML** (:mod:`.syntax`): files and override values are YAML 1.1 with YAML 1.2's numbers (``1e9`` is a
  number, not a string); an integer field refuses ``4.0`` and a number field ``.nan`` and ``.inf``
  (:mod:`.schema`).
- **Overrides** (``--set section.field=value`` on the command line): :func:`parse_overrides` reads the
  values as YAML scalars, :func:`apply_overrides` sets them by dotted path before validation.
- **Errors**: :class:`ConfigError`; a field's problem reads ``<path>: <the bad value and why>; allowed:
  <what is>``, every problem of a config at once.
- **Schemas**: the builders in :mod:`.schema`; the link (modulation, LDPC code, Es/N0) and channel (fading
  model and its parameters) fields both configs share in :mod:`.link`.
"""
from .errors import ConfigError, problem, raise_problems
from .files import find_config, load, read_config
from .overrides import apply_overrides, parse_overrides

__all__ = ["ConfigError", "apply_overrides", "find_config", "load", "parse_overrides", "problem", "raise_problems",
           "read_config"]
