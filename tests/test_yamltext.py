"""Menus, texts and configuration parsed by libyaml (start-up reads 120 kB of YAML): the same values as
`yaml.safe_load`, and the same error, line and text around it when a file is broken."""

from __future__ import annotations

import pytest
import yaml

from gateway import yamltext as gateway_yamltext
from handlers.reference import yamltext as reference_yamltext
from tests.conftest import ROOT

# Each layer has its copy (handlers import nothing of the gateway, the engine nothing of handlers).
READERS = [gateway_yamltext, reference_yamltext]
SHIPPED = sorted([*ROOT.glob("menus/*.yaml"), *ROOT.glob("templates/**/*.yaml"), *ROOT.glob("config/*.yaml")])
BROKEN = {
    "mapping-in-a-value": "a: b: c",
    "unclosed-list": "a: [1, 2",
    "list-then-key": "- a\nb: 1",
    "unclosed-quote": 'a: "x',
    "bad-indent": "a:\n  - 1\n - 2",
    "control-character": "x: \x07",
    "unclosed-mapping": "{a: 1",
    "reserved-character": "key: @bad",
    "tab-indent": "screens:\n\tmain: 1",
}


@pytest.mark.parametrize("reader", READERS, ids=["gateway", "handlers"])
def test_the_shipped_files_read_as_safe_load_reads_them(reader):
    assert len(SHIPPED) >= 8
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        assert reader.safe_load(text) == yaml.safe_load(text), path


@pytest.mark.parametrize("reader", READERS, ids=["gateway", "handlers"])
@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_is_refused_in_safe_loads_words(reader, text):
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as refused:
        reader.safe_load(text)
    assert (type(refused.value), str(refused.value)) == (type(expected.value), str(expected.value))


@pytest.mark.parametrize("reader", READERS, ids=["gateway", "handlers"])
def test_libyaml_parses_where_pyyaml_has_it(reader, monkeypatch):
    # PyYAML's wheels bring libyaml; the pure-Python parser is what made start-up slow.
    assert yaml.__with_libyaml__ and reader._PARSED_IN_C is yaml.CSafeLoader
    parsed = []
    real = yaml.load

    def load(text, Loader):
        parsed.append(Loader)
        return real(text, Loader=Loader)

    monkeypatch.setattr(yaml, "load", load)
    assert reader.safe_load("a: [1, 2]") == {"a": [1, 2]}
    assert parsed == [yaml.CSafeLoader]
