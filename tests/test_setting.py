import argparse

import pytest

from keras_rra.settings import Setting


def test_numbers_are_checked_against_their_range():
    rate = Setting("rate", "float", 0.5, "a rate", above=0, below=1)
    assert rate.check(0.5) == 0.5
    assert Setting("n", "float", 2, "", minimum=0).default == 2.0
    for bad in (0, 1, -2.0):
        with pytest.raises(ValueError, match=r"`rate` must be in \(0, 1\).*rate="):
            rate.check(bad)
    with pytest.raises(ValueError, match="`rate` must be a number.*'x'"):
        rate.check("x")
    steps = Setting("steps", "int", 3, "steps", minimum=1)
    with pytest.raises(ValueError, match="`steps` must be an integer.*2.5"):
        steps.check(2.5)
    with pytest.raises(ValueError, match="must be an integer"):
        steps.check(True)


def test_choices_bools_lists_and_optional_values():
    mode = Setting("mode", "str", "a", "a mode", choices=("a", "b"))
    with pytest.raises(ValueError, match="Unknown `mode`='c'.*'a', 'b'"):
        mode.check("c")
    flag = Setting("flag", "bool", True, "a flag")
    with pytest.raises(ValueError, match="`flag` must be true or false"):
        flag.check("yes")
    sizes = Setting("sizes", "fractions", [0.5], "sides")
    assert sizes.check(0.25) == [0.25]
    with pytest.raises(ValueError, match="sizes"):
        sizes.check([0.5, 2.0])
    epochs = Setting("epochs", "epochs", [60, 30], "decays")
    assert epochs.default == [30, 60]
    maybe = Setting("maybe", "int", None, "optional", minimum=1, optional=True)
    assert maybe.check(None) is None
    with pytest.raises(ValueError, match="`steps` needs a value"):
        Setting("steps", "int", 1, "steps", minimum=1).check(None)


def test_a_declaration_whose_default_breaks_its_range_is_refused():
    with pytest.raises(ValueError, match="`steps` must be >= 1"):
        Setting("steps", "int", 0, "steps", minimum=1)


def test_command_line_words_parse_to_values():
    assert Setting("f", "bool", False, "").parse("Yes") is True
    assert Setting("f", "fractions", [0.5], "").parse("0.25,0.5") == [0.25, 0.5]
    assert Setting("e", "epochs", [1], "").parse("30,60") == [30, 60]
    assert Setting("o", "int", None, "", optional=True).parse("none") is None
    with pytest.raises(argparse.ArgumentTypeError, match="separated by commas"):
        Setting("e", "epochs", [1], "").parse("30;60")
    with pytest.raises(argparse.ArgumentTypeError, match="true or false"):
        Setting("f", "bool", False, "").parse("maybe")


def test_help_shows_range_choices_and_default():
    mode = Setting("mode", "str", "a", "a mode", choices=("a", "b"))
    assert mode.describe() == "a mode; one of a, b (default: a)"
    units = Setting("units", "int", 512, "units", minimum=1)
    text = units.describe({"rra": 512, "coarse2fine": 64})
    assert text == "units; >= 1 (default: 512 (rra), 64 (coarse2fine))"
