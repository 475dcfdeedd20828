from keras_rra.data.aircraft import aircraft_examples
from keras_rra.data.sources.file_source import FileSource
from keras_rra.settings.data_settings import AIRCRAFT_SETTINGS


class AircraftSource(FileSource):
    """`aircraft:PATH`: the original `fgvc-aircraft-2013b` folder."""

    kind = "aircraft"
    settings = AIRCRAFT_SETTINGS

    def list_files(self, request):
        return aircraft_examples(
            request.location,
            request.split,
            request.settings["aircraft_level"],
            request.on_bad_image,
        )
