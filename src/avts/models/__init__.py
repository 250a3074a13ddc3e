"""Networks: the MC3/R3D video net, the VGG-style audio net and the two-stream model."""

from avts.models.audio import AudioNet
from avts.models.twostream import TwoStream, build_model, count_parameters
from avts.models.video import VideoNet

__all__ = ["AudioNet", "TwoStream", "VideoNet", "build_model", "count_parameters"]
