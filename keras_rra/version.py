"""The package's version, in one place: `setup.cfg` reads it for the
release, `keras_rra.__version__` reports it.

Semantic versioning (https://semver.org): MAJOR.MINOR.PATCH. Before 1.0 a
MINOR release may change behaviour (each change is in CHANGELOG.md under
its version); a PATCH release only fixes. A model saved by one release
loads in every later release of the same MAJOR version.
"""

__version__ = "0.2.0"
