import pytest

from keras_rra.settings import Setting
from keras_rra.settings import SettingGroup


def test_a_group_checks_known_names_and_lists_them():
    group = SettingGroup(
        "demo",
        [
            Setting("epochs", "int", 15, "epochs", minimum=1),
            Setting("rate", "float", 0.1, "rate", above=0),
        ],
    )
    assert group.defaults() == {"epochs": 15, "rate": 0.1}
    assert group.check({"epochs": 3}) == {"epochs": 3}
    with pytest.raises(ValueError, match="demo: unknown setting.*epoch\\b.*epochs"):
        group.check({"epoch": 3})
    with pytest.raises(ValueError, match="`rate` must be > 0"):
        group.check_value("rate", 0)


def test_a_name_is_declared_once():
    with pytest.raises(ValueError, match="'epochs' declared twice"):
        SettingGroup(
            "demo",
            [Setting("epochs", "int", 1, "a"), Setting("epochs", "int", 2, "b")],
        )
