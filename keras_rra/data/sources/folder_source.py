from keras_rra.data.image_folder import folder_examples
from keras_rra.data.sources.file_source import FileSource
from keras_rra.settings.data_settings import FOLDER_SETTINGS


class FolderSource(FileSource):
    """`folder:PATH`: `PATH/<split>/<class>/*.jpg`, or one `PATH/<class>/`
    tree split with `split_fraction`."""

    kind = "folder"
    settings = FOLDER_SETTINGS

    def list_files(self, request):
        return folder_examples(
            request.location,
            request.split,
            request.settings["split_fraction"],
            request.seed,
            request.on_bad_image,
        )
