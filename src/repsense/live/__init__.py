"""Live capture: rings -> streaming segmenter -> live view -> crash-safe Parquet; repair after a crash."""

from __future__ import annotations

from .pipeline import DeviceRecorder, LiveCapture, LiveOptions, Target, resolve_targets
from .repair import RepairResult, find_unfinished, repair
from .writer import LIVE_DIR, LiveSessionWriter, SessionInfo, live_session_id

__all__ = ["LIVE_DIR", "DeviceRecorder", "LiveCapture", "LiveOptions", "LiveSessionWriter", "RepairResult",
           "SessionInfo", "Target", "find_unfinished", "live_session_id", "repair", "resolve_targets"]
