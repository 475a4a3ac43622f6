"""Face alignment: five landmarks → a similarity transform → a face chip, as dlib makes it.

The age and gender networks were trained on chips from dlib's
``extract_image_chip(img, get_face_chip_details(shape, size, padding=0.2))``: a similarity
transform that puts dlib's five landmarks (eye corners and nose base) on a fixed template, padded
by ``padding`` of the face size on each side, sampled bilinearly after a 2x image pyramid when the
face is much larger than the chip. :func:`face_chip` reproduces that with OpenCV.

YuNet's five landmarks are different points (eye centres, nose tip, mouth corners), so they get
their own template: the same points of dlib's 68-point mean face (the shape from which dlib's
5-point template was made), which puts a YuNet-aligned face where a dlib-aligned one would be.

Example:
    >>> import numpy as np
    >>> img = np.zeros((200, 200, 3), np.uint8)
    >>> pts = template_points(LandmarkScheme.YUNET5, size=100, padding=0.0) + 50
    >>> face_chip(img, pts, scheme=LandmarkScheme.YUNET5, size=64).shape
    (64, 64, 3)
"""

from __future__ import annotations

from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "LandmarkScheme", "DLIB5_TEMPLATE", "YUNET5_TEMPLATE", "template_points",
    "similarity_transform", "chip_transform", "face_chip", "as_dlib5", "DEFAULT_PADDING",
]

DEFAULT_PADDING = 0.2  # dlib's get_face_chip_details default; the networks were trained with it


class LandmarkScheme(StrEnum):
    """Which five points a detector reports."""

    DLIB5 = "dlib5"  # dlib shape_predictor_5: eye corners (image-right eye first), nose base
    YUNET5 = "yunet5"  # YuNet: image-left eye, image-right eye, nose tip, mouth left, mouth right


#: dlib's 5-point template (``get_face_chip_details``), unit square, before padding.
DLIB5_TEMPLATE = np.array([
    (0.8595674595992, 0.2134981538014), (0.6460604764104, 0.2289674387677),
    (0.1205750620789, 0.2137274526848), (0.3340850613712, 0.2290642403242),
    (0.4901123135679, 0.6277975316475),
])

#: YuNet's points on dlib's 68-point mean face (same frame as ``DLIB5_TEMPLATE``): eye centres
#: = mean of points 36-41 / 42-47, nose tip = point 30, mouth corners = points 48 / 54.
YUNET5_TEMPLATE = np.array([
    (0.225488, 0.215990), (0.754761, 0.215990), (0.490127, 0.515625),
    (0.254149, 0.780233), (0.726104, 0.780233),
])

_TEMPLATES = {LandmarkScheme.DLIB5: DLIB5_TEMPLATE, LandmarkScheme.YUNET5: YUNET5_TEMPLATE}


def template_points(scheme: LandmarkScheme | str, *, size: int, padding: float = DEFAULT_PADDING
                    ) -> npt.NDArray[np.float64]:
    """The template of ``scheme`` in chip pixels for a ``size`` chip with ``padding``."""
    base = _TEMPLATES[LandmarkScheme(scheme)]
    return (padding + base) / (2 * padding + 1) * size


def similarity_transform(src: npt.ArrayLike, dst: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Least-squares similarity (rotation, uniform scale, shift; no reflection) mapping ``src``
    points onto ``dst`` points (Umeyama 1991), as a 2x3 matrix."""
    s = np.asarray(src, np.float64).reshape(-1, 2)
    d = np.asarray(dst, np.float64).reshape(-1, 2)
    if len(s) != len(d) or len(s) < 2:
        raise ValueError(f"need >= 2 matching points, got {len(s)} and {len(d)}")
    ms, md = s.mean(0), d.mean(0)
    sc, dc = s - ms, d - md
    var = float((sc**2).sum()) / len(s)
    if var <= 1e-12:
        raise ValueError("source points are all the same point")
    u, sig, vt = np.linalg.svd(dc.T @ sc / len(s))
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1
    rot = u @ fix @ vt
    scale = float(np.trace(np.diag(sig) @ fix)) / var
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = md - scale * rot @ ms
    return m


def as_dlib5(landmarks: npt.ArrayLike, scheme: LandmarkScheme | str
             ) -> npt.NDArray[np.float64]:
    """The dlib 5 points that align a face exactly as ``landmarks`` of ``scheme`` do."""
    m = similarity_transform(_TEMPLATES[LandmarkScheme(scheme)], landmarks)
    out: npt.NDArray[np.float64] = np.c_[DLIB5_TEMPLATE, np.ones(5)] @ m.T
    return out


def chip_transform(landmarks: npt.ArrayLike, *, scheme: LandmarkScheme | str, size: int,
                   padding: float = DEFAULT_PADDING) -> npt.NDArray[np.float64]:
    """2x3 matrix mapping chip pixels to image pixels for a face with these landmarks."""
    return similarity_transform(template_points(scheme, size=size, padding=padding), landmarks)


def face_chip(
    image: npt.NDArray[np.uint8],
    landmarks: npt.ArrayLike,
    *,
    scheme: LandmarkScheme | str,
    size: int,
    padding: float = DEFAULT_PADDING,
    border: int = cv2.BORDER_REPLICATE,
    adjust: npt.ArrayLike | None = None,
) -> npt.NDArray[np.uint8]:
    """An aligned ``size`` x ``size`` chip of one face (same channel order as ``image``).

    ``adjust`` (3 x 3, chip pixels to chip pixels) moves the chip before sampling: a scale,
    shift or rotation about its centre, for test-time jitter and sensitivity studies.

    Like dlib, the image is halved with a Gaussian pyramid while the face region is at least
    twice the chip (so the bilinear sampling does not alias), then sampled bilinearly. Only the
    face's neighbourhood is pyramided. Pixels outside the image repeat the edge (``border``);
    dlib fills them with black, which measurably hurts tightly cropped photos.
    """
    m = chip_transform(landmarks, scheme=scheme, size=size, padding=padding)
    if adjust is not None:
        m = m @ np.asarray(adjust, np.float64)
    scale = float(np.hypot(m[0, 0], m[1, 0]))  # image pixels per chip pixel
    levels = 0
    while scale / 2**levels >= 2.0:
        levels += 1
    src: np.ndarray = image
    if levels:
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
        pts = corners @ m.T
        margin = 2 ** (levels + 2)
        h, w = image.shape[:2]
        x0 = int(max(0, np.floor(pts[:, 0].min()) - margin))
        y0 = int(max(0, np.floor(pts[:, 1].min()) - margin))
        x1 = int(min(w, np.ceil(pts[:, 0].max()) + margin))
        y1 = int(min(h, np.ceil(pts[:, 1].max()) + margin))
        if x1 - x0 < 2 or y1 - y0 < 2:  # face entirely outside the image
            return np.zeros((size, size, image.shape[2]), np.uint8)
        x0, y0 = x0 - x0 % 2**levels, y0 - y0 % 2**levels  # keep the pyramid's sampling grid
        src = image[y0:y1, x0:x1]
        m = m.copy()
        m[:, 2] -= (x0, y0)
        for _ in range(levels):
            src = cv2.pyrDown(src, borderType=cv2.BORDER_REFLECT101)
        m = m / 2**levels
    chip = cv2.warpAffine(np.ascontiguousarray(src), m, (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border)
    return np.asarray(chip, np.uint8)
