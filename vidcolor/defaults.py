"""Defaults shared by the library and the CLI, named once (this module imports nothing heavy)."""

DEFAULT_MODEL = "fusion-small"
# px, short side of a film's frames as the network sees them (chroma is upsampled): on the shipped weights, 128
# gave higher PSNR than 192, 256 or the full frame and 2.2x the speed of 256 (bench/work_side.py).
DEFAULT_WORK_SIDE = 128
# px, a photo's: one picture, no frame rate to keep. On scikit-image's six photos at full size (300-1000 px) 224
# gave the best PSNR (22.74 dB against 22.45 at 128) and colorfulness (0.74 x the truth's against 0.62), four of
# the six gaining (bench/work_side.py --photos; docs/photo_side.jpg); smaller photos are seen as they are.
DEFAULT_PHOTO_SIDE = 224
MIN_WORK_SIDE = 32  # 4 cells of the mid-level features (1/8 size) across the short side
MAX_SATURATION = 3.0
MAX_CRF = 63  # x265's and VP9's top (x264 stops at 51 in 8 bits; the encoder takes its own top)
# Frames per batch (pipeline.default_batch_size): 16 on a GPU; on a CPU 16 as well up to four 1080p
# frames' pixels: on the 2-core CPU 16 ran end to end 1.12x faster than 4 at 480p (fewer hand-offs
# between the threads), but at 1080p it bought 4% for +490 MB of peak memory, at 4K nothing.
MAX_BATCH_SIZE = 16
CPU_BATCH_PIXELS = 4 * 1920 * 1080
DEFAULT_SMOOTH_SECONDS = 1.0  # half-width of the window global vectors are averaged over, within a shot
# the frames of a window ahead wait in memory for their smoothed vectors: 10 s of a 720p film took 1.21 GB
# peak against 0.76 GB at 1 s (session 29); 10 s of 1080p holds about 0.8 GB more, of 4K 3 GB
MAX_SMOOTH_SECONDS = 10.0
MAX_PREVIEW_COUNT = 100  # rows of a preview sheet spread over the film: 100 rows of a 16:9 film are 20,200 px tall
