"""Registers keras-rra's serialisable classes with Keras once both are
imported, whichever comes first, without importing Keras itself.

`keras.saving.load_model` finds a custom class only if it was registered
before the call, and a class is registered when its module is imported.
keras-hub imports every module in `import keras_hub`; here that would
cost the `keras-rra` command 4 s of TensorFlow before it can answer
`--help`. So `import keras_rra` only watches: if Keras is already loaded it
registers at once, otherwise it registers right after the first `import
keras` completes (the user's, TensorFlow's `tf.keras`, or keras-rra's own).
When Keras is imported from inside one of keras-rra's own modules, the
registration waits until no keras-rra module is half-imported, so that it
never reads a module that is still running.
"""

import importlib
import importlib.abc
import sys

# The modules whose import registers every serialisable class: layers,
# models (with their losses) and the optimiser of the papers' recipe.
REGISTERING_MODULES = ("keras_rra.layers", "keras_rra.models", "keras_rra.training")


def register_serializables():
    """Imports the modules that register keras-rra's classes with Keras
    (`keras.saving.get_registered_object("keras_rra>RRAClassifier")` then
    finds them). Idempotent."""
    for name in REGISTERING_MODULES:
        importlib.import_module(name)


def _importing_keras_rra(finished=None):
    """Whether a keras-rra module other than `finished` is still running."""
    for name, module in list(sys.modules.items()):
        if name != "keras_rra" and not name.startswith("keras_rra."):
            continue
        if module is finished:
            continue
        if getattr(getattr(module, "__spec__", None), "_initializing", False):
            return True
    return False


class _NotifyingLoader(importlib.abc.Loader):
    """A module's own loader, that tells the watcher when the module has run."""

    def __init__(self, loader, watcher):
        self._loader = loader
        self._watcher = watcher

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._watcher.imported(module)

    def __getattr__(self, name):
        # Resource readers, `get_source` and the like: the loader's own.
        return getattr(self._loader, name)


class _RegistrationWatcher(importlib.abc.MetaPathFinder):
    """Sees `keras` and keras-rra's modules load, and registers once both
    can be imported safely; then leaves `sys.meta_path`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" and not fullname.startswith("keras_rra."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _NotifyingLoader(spec.loader, self)
        return spec

    def imported(self, module):
        if "keras" not in sys.modules or _importing_keras_rra(finished=module):
            return
        self.stop()
        register_serializables()

    def stop(self):
        if self in sys.meta_path:
            sys.meta_path.remove(self)


def watch():
    """Registers now if Keras is loaded, else once it is (see the module's
    docstring)."""
    if "keras" in sys.modules:
        register_serializables()
        return
    if not any(isinstance(finder, _RegistrationWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegistrationWatcher())
