"""vidcolor: automatic colorization of black-and-white films and photos.

The network is the global/local fusion model of Iizuka, Simo-Serra and Ishikawa,
"Let there be Color!" (SIGGRAPH 2016).
"""
__version__ = "0.1.0"  # before the imports: the modules that mark their outputs with it import it

from importlib import import_module

from .colorizer import Colorizer
from .errors import AlreadyInColor, InputError, OutputError, UsageError, VidcolorError, WeightsError
from .image import colorize_image
from .model.weights import load_model
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

# the names whose modules load PyAV, on first use: photos, training and evaluation run without it
_WITH_PYAV = {"VideoReport": "pipeline", "colorize_video": "pipeline", "colorize_folder": "folder",
              "EncodeOptions": "media.codecs", "make_preview": "preview"}


def __getattr__(name: str):
    if name in _WITH_PYAV:
        return getattr(import_module(f".{_WITH_PYAV[name]}", __name__), name)
    raise AttributeError(f"module 'vidcolor' has no attribute {name!r}")
