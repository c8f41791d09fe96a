"""YAML documents read as `yaml.safe_load` reads them, parsed by libyaml where PyYAML has it: start-up reads
120 kB of menus, texts and configuration, which PyYAML's pure-Python parser takes ten times as long over."""

from __future__ import annotations

import yaml

_PARSED_IN_C = getattr(yaml, "CSafeLoader", None)  # PyYAML built with libyaml (its wheels are)


def safe_load(text: str) -> object:
    """The document's value; a YAMLError as `yaml.safe_load` words it (line, column, the text around)."""
    if _PARSED_IN_C is not None:
        try:
            return yaml.load(text, Loader=_PARSED_IN_C)
        except yaml.YAMLError:
            pass  # libyaml says less of where and what: PyYAML reads it again to say it as it always did
    return yaml.safe_load(text)
