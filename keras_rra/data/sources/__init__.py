"""The data sources `keras_rra.data.load` reads, by kind."""

from keras_rra.data.sources.aircraft_source import AircraftSource
from keras_rra.data.sources.cub_source import CubSource
from keras_rra.data.sources.data_source import DataSource
from keras_rra.data.sources.folder_source import FolderSource
from keras_rra.data.sources.synthetic_source import SyntheticSource
from keras_rra.data.sources.tfds_source import TfdsSource

# kind (what `parse_name` returns) -> source.
DATA_SOURCES = {
    source.kind: source
    for source in (
        SyntheticSource(),
        FolderSource(),
        CubSource(),
        AircraftSource(),
        TfdsSource(),
    )
}

__all__ = [
    "DATA_SOURCES",
    "AircraftSource",
    "CubSource",
    "DataSource",
    "FolderSource",
    "SyntheticSource",
    "TfdsSource",
]
