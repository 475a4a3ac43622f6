"""Streaming runtime: readers, bounded queues, cross-source batching, stage chain, sinks."""

from __future__ import annotations

from streamcv.runtime.chain import StageChain
from streamcv.runtime.device import resolve_device
from streamcv.runtime.hub import FrameHub
from streamcv.runtime.measure import run_frames_only
from streamcv.runtime.runner import Runner, RunSummary

__all__ = ["StageChain", "FrameHub", "Runner", "RunSummary", "resolve_device", "run_frames_only"]
