"""Defaults shared by the library and the CLI, named once (this module imports nothing heavy)."""

DEFAULT_MODEL = "fusion-small"
# px, short side of the picture the network sees (chroma is upsampled): on the shipped weights, 128
# gave higher PSNR than 192, 256 or the full frame and 2.2x the speed of 256 (bench/work_side.py).
DEFAULT_WORK_SIDE = 128
DEFAULT_SMOOTH_SECONDS = 1.0  # half-width of the window global vectors are averaged over, within a shot
