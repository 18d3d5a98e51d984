from __future__ import annotations

import yaml

from lava.common import yamlio


def test_uses_libyaml_when_available() -> None:
    if yaml.__with_libyaml__:
        assert yamlio.SafeLoader is yaml.CSafeLoader
        assert yamlio.SafeDumper is yaml.CSafeDumper


def test_load_text_and_bytes() -> None:
    assert yamlio.load("a: 1\nb: [x, y]\n") == {"a": 1, "b": ["x", "y"]}
    assert yamlio.load(b"a: 1\n") == {"a": 1}
    assert yamlio.load("") is None


def test_load_is_safe() -> None:
    try:
        yamlio.load("!!python/object/apply:os.system ['true']")
    except yamlio.YAMLError:
        pass
    else:  # pragma: no cover
        raise AssertionError("unsafe tag accepted")


def test_dump_block_style_keeps_key_order() -> None:
    text = yamlio.dump({"zeta": 1, "alpha": {"b": [1, 2], "a": "é"}})
    assert text == "zeta: 1\nalpha:\n  b:\n  - 1\n  - 2\n  a: é\n"
    assert yamlio.load(text) == {"zeta": 1, "alpha": {"b": [1, 2], "a": "é"}}


def test_lava_tagged_float_loads() -> None:
    assert yamlio.load('{"measurement": !!float "1.5"}') == {"measurement": 1.5}
