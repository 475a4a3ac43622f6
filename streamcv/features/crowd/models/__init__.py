"""Density-map crowd counting networks in torch, their weight loaders and inference helpers.

The sub-modules import torch; import them lazily (from a stage's ``setup``). Architectures are
selected by the registry entry's ``architecture`` field (see :data:`ARCHITECTURES`), so metadata
drives construction::

    from streamcv.features.crowd.models.loading import load_density_net
    net = load_density_net(get_model("mcnn_shanghaitech_b"), path)
"""

from __future__ import annotations

__all__ = ["ARCHITECTURES"]

#: architecture name → "module:class" of its torch module (imported on demand).
ARCHITECTURES: dict[str, str] = {
    "mcnn": "streamcv.features.crowd.models.mcnn:MCNN",
    "dmcount_vgg19": "streamcv.features.crowd.models.vgg:DMCount",
    "csrnet": "streamcv.features.crowd.models.vgg:CSRNet",
    "msfanet_qnrf": "streamcv.features.crowd.models.msfanet:MSFANet",
}
