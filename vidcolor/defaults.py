"""Defaults shared by the library and the CLI, named once (this module imports nothing heavy)."""

DEFAULT_MODEL = "fusion-small"
# px, short side of the picture the network sees (chroma is upsampled): on the shipped weights, 128
# gave higher PSNR than 192, 256 or the full frame and 2.2x the speed of 256 (bench/work_side.py).
DEFAULT_WORK_SIDE = 128
# Frames per batch (pipeline.default_batch_size): 16 on a GPU; on a CPU 16 as well up to four 1080p
# frames' pixels: on the 2-core CPU 16 ran end to end 1.12x faster than 4 at 480p (fewer hand-offs
# between the threads), but at 1080p it bought 4% for +490 MB of peak memory, at 4K nothing.
MAX_BATCH_SIZE = 16
CPU_BATCH_PIXELS = 4 * 1920 * 1080
DEFAULT_SMOOTH_SECONDS = 1.0  # half-width of the window global vectors are averaged over, within a shot
