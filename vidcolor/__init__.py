"""vidcolor: automatic colorization of black-and-white films and photos.

The network is the global/local fusion model of Iizuka, Simo-Serra and Ishikawa,
"Let there be Color!" (SIGGRAPH 2016).
"""
__version__ = "0.1.0"  # before the imports: the modules that mark their outputs with it import it

from importlib import import_module
from typing import TYPE_CHECKING

from .errors import AlreadyInColor, InputError, OutputError, UsageError, VidcolorError, WeightsError

if TYPE_CHECKING:  # for type checkers and editors; at run time each loads on first use (below)
    from .colorizer import Colorizer
    from .folder import colorize_folder
    from .image import colorize_image
    from .media.codecs import EncodeOptions
    from .model.weights import load_model
    from .pipeline import VideoReport, colorize_video
    from .preview import make_preview
    from .shots import detect_shots

__all__ = [
           "AlreadyInColor",
           "Colorizer",
           "EncodeOptions",
           "InputError",
           "OutputError",
           "UsageError",
           "VidcolorError",
           "VideoReport",
           "WeightsError",
           "colorize_folder",
           "colorize_image",
           "colorize_video",
           "detect_shots",
           "load_model",
           "make_preview",
]

# the names whose modules load torch or PyAV, on first use: `vidcolor --help` and a refused option answer
# without them (torch alone takes 1.1 s to import), a Ctrl-C while they load is the command line's to answer,
# and photos, training and evaluation run without PyAV
_LAZY = {"Colorizer": "colorizer", "colorize_image": "image", "load_model": "model.weights", "detect_shots": "shots",
         "VideoReport": "pipeline", "colorize_video": "pipeline", "colorize_folder": "folder",
         "EncodeOptions": "media.codecs", "make_preview": "preview"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'vidcolor' has no attribute {name!r}")
