import pytest

from keras_rra.settings import SearchRange
from keras_rra.settings import Setting


def test_choices_and_intervals_are_checked():
    assert SearchRange(values=[1, 2]).values == (1, 2)
    assert SearchRange(values=[1, 2]).is_choice
    with pytest.raises(ValueError, match="at least one value"):
        SearchRange(values=())
    with pytest.raises(ValueError, match="low must be <= its high.*low=10, high=1"):
        SearchRange(low=10, high=1)
    with pytest.raises(ValueError, match="values or low/high, not both"):
        SearchRange(values=(1,), low=1, high=2)
    with pytest.raises(ValueError, match="needs values or both low and high"):
        SearchRange(low=1)
    with pytest.raises(ValueError, match="log-scale.*low > 0"):
        SearchRange(low=0.0, high=1.0, log=True)
    with pytest.raises(ValueError, match="step must be > 0"):
        SearchRange(low=1, high=4, step=0)


def test_description_and_json_form():
    rate = SearchRange(low=1e-4, high=1e-2, log=True)
    assert rate.describe() == "[0.0001, 0.01] log"
    assert rate.to_dict() == {"low": 1e-4, "high": 1e-2, "log": True}
    patch = SearchRange(values=(0.25, 0.5), relative_to="image_size")
    assert patch.describe() == "0.25, 0.5 × image_size"
    conditional = SearchRange(low=1, high=2, when=("patch", ("navigator",)))
    assert conditional.describe() == "[1, 2] when patch in navigator"


def test_a_setting_takes_a_search_range_only():
    with pytest.raises(TypeError, match="`steps`: search must be a SearchRange"):
        Setting("steps", "int", 1, "steps", search=[1, 2])
    steps = Setting("steps", "int", 1, "steps", search=SearchRange(low=1, high=4))
    assert steps.with_search(high=8).search.high == 8
    assert steps.search.high == 4
