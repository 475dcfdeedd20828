from keras_rra.data.cub import cub_examples
from keras_rra.data.sources.file_source import FileSource
from keras_rra.settings.data_settings import CUB_SETTINGS


class CubSource(FileSource):
    """`cub:PATH`: the original `CUB_200_2011` folder."""

    kind = "cub"
    settings = CUB_SETTINGS

    def list_files(self, request):
        return cub_examples(request.location, request.split, request.on_bad_image)
