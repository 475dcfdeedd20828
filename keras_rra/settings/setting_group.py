"""`SettingGroup`: the settings that one model, data source or stage owns."""

from keras_rra.settings.setting import Setting


class SettingGroup:
    """An ordered, named collection of `Setting`s.

    Args:
        title: who owns the settings (`"rra"`, `"data"`, ...).
        settings: the `Setting`s, each name once.

    Example:

    >>> group = SettingGroup("demo", [Setting("epochs", "int", 15, "epochs")])
    >>> group.check({"epochs": 3})
    {'epochs': 3}
    """

    def __init__(self, title, settings):
        self.title = title
        self.settings = {}
        for setting in settings:
            if not isinstance(setting, Setting):
                raise TypeError(f"{title}: {setting!r} is not a Setting.")
            if setting.name in self.settings:
                raise ValueError(f"{title}: setting {setting.name!r} declared twice.")
            self.settings[setting.name] = setting

    def __contains__(self, name):
        return name in self.settings

    def __getitem__(self, name):
        return self.settings[name]

    def __iter__(self):
        return iter(self.settings.values())

    def __len__(self):
        return len(self.settings)

    def names(self):
        return list(self.settings)

    def defaults(self):
        """`{name: default}` of every setting."""
        return {name: setting.default for name, setting in self.settings.items()}

    def check(self, values):
        """`values` (a subset of the names) in normal form; raises on an
        unknown name (listing the known ones) or a bad value."""
        unknown = sorted(set(values) - set(self.settings))
        if unknown:
            raise ValueError(
                f"{self.title}: unknown setting(s) {', '.join(unknown)}. Known "
                f"settings: {', '.join(self.settings)}."
            )
        return {name: self.settings[name].check(v) for name, v in values.items()}

    def check_value(self, name, value):
        """One setting's value in normal form (see `Setting.check`)."""
        return self.settings[name].check(value)
