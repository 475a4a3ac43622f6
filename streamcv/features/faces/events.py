"""The faces feature's output contract: its event kinds and their JSON keys.

The stage writes these events and :mod:`streamcv.features.faces.queries` reads them, both from
this module, so that a renamed key cannot split writer and reader.

Example:
    >>> VISITOR, sorted(VISITOR_KEYS)[:3]
    ('face_visitor', ['age', 'age_band', 'duration_s'])
"""

from __future__ import annotations

__all__ = ["VISITOR", "LEGACY_VISITOR", "VISITOR_KEYS", "KEYS", "EVENTS"]

#: One per face track when it ends: a visitor with robust age and gender.
VISITOR = "face_visitor"
#: The kind face visitors had before 2026-12 (shared with the counting feature's ``visitor``,
#: which has no ``faces`` key); still read by the demographics query.
LEGACY_VISITOR = "visitor"
#: Keys of a visitor event's ``data`` (``FaceVisitor.to_json``).
VISITOR_KEYS = frozenset({
    "track_id", "first_seen", "last_seen", "duration_s", "frames", "faces", "skipped_small",
    "skipped_blur", "age", "age_band", "gender", "gender_score",
})
#: ``data`` keys per event kind (a visitor's ``crop`` path is added when crops are saved).
KEYS = {VISITOR: VISITOR_KEYS | {"crop"}}
#: Every event kind the faces stage emits.
EVENTS: tuple[str, ...] = (VISITOR,)
