"""In-memory buffering between the BLE ingester and the consumers: ring buffers and clock mapping."""

from __future__ import annotations

from .clock import ClockStamp, Gap, StreamClock
from .ring import RingBuffer

__all__ = ["ClockStamp", "Gap", "RingBuffer", "StreamClock"]
