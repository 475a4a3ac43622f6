"""VGG-based density networks: DM-Count (VGG19) and CSRNet (VGG16 front end, dilated back end).

Parameter names follow the official checkpoints, so their ``state_dict`` files load unchanged:
DM-Count (Wang et al., NeurIPS 2020; cvlab-stonybrook/DM-Count, MIT) uses ``features.N``,
``reg_layer.N`` and ``density_layer.0``; CSRNet (Li et al., CVPR 2018; leeyeehoo/CSRNet-pytorch)
uses ``frontend.N``, ``backend.N`` and ``output_layer``. Both take RGB normalised with the ImageNet
mean/std and give a density map at 1/8 resolution.

Example:
    >>> import torch
    >>> DMCount().eval()(torch.zeros(1, 3, 64, 96)).shape
    torch.Size([1, 1, 8, 12])
    >>> CSRNet().eval()(torch.zeros(1, 3, 64, 96)).shape
    torch.Size([1, 1, 8, 12])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["DMCount", "CSRNet", "vgg_layers", "VGG19_CFG", "CSRNET_FRONT", "CSRNET_BACK"]

#: VGG19 ("E") convolution widths; "M" is a 2x2 max-pool. DM-Count drops the last pool.
VGG19_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
    512, 512, 512, 512,
)
#: CSRNet: the first ten convolutions of VGG16, then six dilated (rate 2) convolutions.
CSRNET_FRONT: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512,
)
CSRNET_BACK: tuple[int | str, ...] = (512, 512, 512, 256, 128, 64)


def vgg_layers(
    cfg: Sequence[int | str], *, in_channels: int = 3, dilation: int = 1
) -> nn.Sequential:
    """3x3 convolutions with ReLU, and 2x2 max-pools for ``"M"`` (torchvision's VGG indexing)."""
    layers: list[nn.Module] = []
    cin = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(cin, int(v), 3, padding=dilation, dilation=dilation),
                       nn.ReLU(inplace=True)]
            cin = int(v)
    return nn.Sequential(*layers)


class DMCount(nn.Module):
    """DM-Count: VGG19 features (stride 16), 2x bilinear upsampling, a small regression head.

    The head ends in a ReLU, so the density is non-negative. Input: RGB, ImageNet-normalised,
    sides multiples of 16. Output: N x 1 x H/8 x W/8.
    """

    output_stride = 8
    input_multiple = 16
    in_channels = 3

    def __init__(self) -> None:
        super().__init__()
        self.features = vgg_layers(VGG19_CFG)
        self.reg_layer = nn.Sequential(
            nn.Conv2d(512, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 128, 3, padding=1), nn.ReLU(inplace=True),
        )
        self.density_layer = nn.Sequential(nn.Conv2d(128, 1, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        out: torch.Tensor = self.density_layer(self.reg_layer(x))
        return out


class CSRNet(nn.Module):
    """CSRNet: VGG16 front end (stride 8) and a dilated back end; N x 1 x H/8 x W/8 out.

    The output layer is linear (published model); the inference code clamps negatives.
    """

    output_stride = 8
    input_multiple = 8
    in_channels = 3

    def __init__(self) -> None:
        super().__init__()
        self.frontend = vgg_layers(CSRNET_FRONT)
        self.backend = vgg_layers(CSRNET_BACK, in_channels=512, dilation=2)
        self.output_layer = nn.Conv2d(64, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.output_layer(self.backend(self.frontend(x)))
        return out
