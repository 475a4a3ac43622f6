"""Models the tracking feature uses: person re-identification embeddings for association.

Example:
    >>> PERSON_REID_RETAIL_0288.task, PERSON_REID_RETAIL_0288.input_size
    ('reid', (128, 256))
"""

from __future__ import annotations

from streamcv.models.registry import ModelEntry

__all__ = ["PERSON_REID_RETAIL_0288", "TRACKING_MODELS"]

PERSON_REID_RETAIL_0288 = ModelEntry(
    name="person_reid_retail_0288",
    task="reid",
    architecture="openvino_reid",
    file_name="person-reidentification-retail-0288.onnx",
    license="Apache-2.0",
    url=("https://raw.githubusercontent.com/Kazuhito00/MOT-Tracking-by-Detection-Pipeline/"
         "e50a76b8b430b778276e7fd04fd4cafd5d45eab2/Tracker/person_reid/model/"
         "person-reidentification-retail-0288.onnx"),
    sha256="f3966d905e7232026aa8b814c328231a7b45c5b6b4dd32f886894223c4441b80",
    size=813323,
    package="streamcv",  # shipped in the wheel (streamcv/data/models/, see its README)
    package_path="data/models/person-reidentification-retail-0288.onnx",
    input_size=(128, 256),
    preprocessing={"color": "BGR", "scale": "0-255", "normalize": "none",
                   "resize": "person box crop to 128x256 (w x h)", "layout": "NHWC [1,256,128,3]",
                   "output": "[1,256] embedding; compare with cosine similarity"},
    categories=(),
    source="https://github.com/openvinotoolkit/open_model_zoo/tree/master/models/intel/"
           "person-reidentification-retail-0288",
    notes=("OpenVINO Open Model Zoo person re-identification (Apache-2.0) as ONNX, batch 1; the "
           "URL is the copy whose sha256 is recorded here (Kazuhito00/MOT-Tracking-by-Detection-"
           "Pipeline @ e50a76b). Used by the track stage's `reid` option."),
)

TRACKING_MODELS: tuple[ModelEntry, ...] = (PERSON_REID_RETAIL_0288,)
