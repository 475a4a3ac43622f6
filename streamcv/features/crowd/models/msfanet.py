"""M-SFANet* for UCF-QNRF (Thanasutives et al., "Encoder-Decoder Based Convolutional Neural
Networks with Multi-Scale-Aware Modules for Crowd Counting", ICPR 2020, arXiv:2003.05586).

Written from the paper: a VGG19 encoder; a context-aware module (CAN: average pools at 1, 2, 3
and 6 cells whose contrast with the features weights them) on the stride-8 features; atrous
spatial pyramid pooling (ASPP: rates 1, 12, 24, 36 plus image pooling) beside a DM-Count-style
regression head on the stride-16 features; and an SFANet-style decoder that fuses the scales
back to stride 2. The UCF-QNRF variant ("*") has no attention branch and returns ``|density|``.

Parameter names follow the authors' published checkpoint (``vgg.conv1_1.conv.weight``,
``spm.assp...``, ``spm.can...``, ``dmp.conv1...``, ``conv_out...``) so that it loads unchanged.
The authors' repository has no licence file; this module is an independent implementation.

Example:
    >>> import torch
    >>> MSFANet().eval()(torch.zeros(1, 3, 64, 96)).shape
    torch.Size([1, 1, 32, 48])
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MSFANet"]


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class _Conv(nn.Module):
    """Convolution with "same" padding and an optional ReLU (the checkpoint's ``BaseConv``)."""

    def __init__(self, cin: int, cout: int, k: int, *, relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, 1, k // 2)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return F.relu(x) if self.relu else x


class _Encoder(nn.Module):
    """VGG19 convolutions; returns conv2_2 (1/2), conv3_4 (1/4), conv4_4 (1/8), conv5_4 (1/16)."""

    BLOCKS = ((1, 2, 3, 64), (2, 2, 64, 128), (3, 4, 128, 256), (4, 4, 256, 512), (5, 4, 512, 512))

    def __init__(self) -> None:
        super().__init__()
        for block, n, cin, cout in self.BLOCKS:
            for i in range(1, n + 1):
                self.add_module(f"conv{block}_{i}", _Conv(cin if i == 1 else cout, cout, 3))

    def _block(self, x: torch.Tensor, block: int, n: int) -> torch.Tensor:
        for i in range(1, n + 1):
            x = getattr(self, f"conv{block}_{i}")(x)
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for block, n, _, _ in self.BLOCKS:
            if block > 1:
                x = F.max_pool2d(x, 2)
            x = self._block(x, block, n)
            if block > 1:
                outs.append(x)
        return tuple(outs)


class _ASPPBranch(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, rate: int) -> None:
        super().__init__()
        pad = 0 if k == 1 else rate
        self.atrous_conv = nn.Conv2d(cin, cout, k, padding=pad, dilation=rate, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.atrous_conv(x))


class _ASPP(nn.Module):
    """Parallel atrous convolutions (rates 1, 12, 24, 36) and image-level pooling, fused 1x1."""

    def __init__(self, cin: int = 512, cout: int = 256) -> None:
        super().__init__()
        self.aspp1 = _ASPPBranch(cin, cout, 1, 1)
        self.aspp2 = _ASPPBranch(cin, cout, 3, 12)
        self.aspp3 = _ASPPBranch(cin, cout, 3, 24)
        self.aspp4 = _ASPPBranch(cin, cout, 3, 36)
        self.global_avg_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False), nn.ReLU()
        )
        self.conv1 = nn.Conv2d(cout * 5, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.global_avg_pool(x).expand(-1, -1, x.shape[2], x.shape[3])
        branches = [self.aspp1(x), self.aspp2(x), self.aspp3(x), self.aspp4(x), pooled]
        return F.relu(self.conv1(torch.cat(branches, dim=1)))  # dropout: identity at inference


class _ContextModule(nn.Module):
    """CAN: features pooled to 1, 2, 3 and 6 cells, weighted by their contrast with the input."""

    SIZES = (1, 2, 3, 6)

    def __init__(self, channels: int = 512) -> None:
        super().__init__()
        self.scales = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(s), nn.Conv2d(channels, channels, 1, bias=False))
            for s in self.SIZES
        )
        self.bottleneck = nn.Conv2d(channels * 2, channels, 1)
        self.weight_net = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        total = torch.zeros_like(x)
        norm = torch.zeros_like(x)
        for stage in self.scales:
            s = F.interpolate(stage(x), size=size, mode="bilinear", align_corners=False)
            w = torch.sigmoid(self.weight_net(x - s))
            total = total + s * w
            norm = norm + w
        return F.relu(self.bottleneck(torch.cat([total / norm, x], dim=1)))


class _ScalePyramid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.assp = _ASPP(512, 256)
        self.can = _ContextModule(512)
        self.reg_layer = nn.Sequential(
            nn.Conv2d(512, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 128, 3, padding=1), nn.ReLU(inplace=True),
        )

    def forward(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        c4 = self.can(c4)
        c5 = torch.cat([_up2(self.assp(c5)), self.reg_layer(_up2(c5))], dim=1)  # 384 @ 1/8
        return c4, c5


class _Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _Conv(896, 256, 1)
        self.conv2 = _Conv(256, 256, 3)
        self.conv3 = _Conv(896, 128, 1)
        self.conv4 = _Conv(128, 128, 3)
        self.conv5 = _Conv(256, 64, 1)
        self.conv6 = _Conv(64, 64, 3)
        self.conv7 = _Conv(64, 32, 3)

    def forward(self, c2: torch.Tensor, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor
                ) -> torch.Tensor:
        x = _up2(self.conv2(self.conv1(torch.cat([c5, c4], dim=1))))  # 1/4
        x = _up2(self.conv4(self.conv3(torch.cat([x, c3, _up2(c5)], dim=1))))  # 1/2
        out: torch.Tensor = self.conv7(self.conv6(self.conv5(torch.cat([x, c2], dim=1))))
        return out


class MSFANet(nn.Module):
    """M-SFANet* (UCF-QNRF): RGB, ImageNet-normalised, sides multiples of 16; N x 1 x H/2 x W/2."""

    output_stride = 2
    input_multiple = 16
    in_channels = 3

    def __init__(self) -> None:
        super().__init__()
        self.vgg = _Encoder()
        self.spm = _ScalePyramid()
        self.dmp = _Decoder()
        self.conv_out = _Conv(32, 1, 1, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c2, c3, c4, c5 = self.vgg(x)
        c4, c5 = self.spm(c3, c4, c5)
        out: torch.Tensor = self.conv_out(self.dmp(c2, c3, c4, c5))
        return torch.abs(out)
