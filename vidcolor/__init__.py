"""vidcolor: automatic colorization of black-and-white films and photos.

The network is the global/local fusion model of Iizuka, Simo-Serra and Ishikawa,
"Let there be Color!" (SIGGRAPH 2016).
"""
__version__ = "0.1.0"  # before the imports: the modules that mark their outputs with it import it

from .colorizer import Colorizer
from .errors import AlreadyInColor, InputError, OutputError, VidcolorError, WeightsError
from .image import colorize_image
from .model.weights import load_model

__all__ = [
           "AlreadyInColor",
           "Colorizer",
           "InputError",
           "OutputError",
           "VidcolorError",
           "VideoReport",
           "WeightsError",
           "colorize_folder",
           "colorize_image",
           "colorize_video",
           "load_model",
]


def __getattr__(name: str):
    """The video pipeline loads PyAV on first use: photos, training and evaluation run without it."""
    if name in ("VideoReport", "colorize_video"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "colorize_folder":
        from .folder import colorize_folder

        return colorize_folder
    raise AttributeError(f"module 'vidcolor' has no attribute {name!r}")
