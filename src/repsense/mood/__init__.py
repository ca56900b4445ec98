"""Mood logs beside training sessions: instruments, import, storage, as-of join, weekly table, report.

Public API::

    from repsense.mood import import_mood_log, read_mood, join_sessions_mood, weekly_table, pseudonymise
"""

from __future__ import annotations

from .importer import ImportReport, Reject, import_mood_log
from .instruments import INSTRUMENTS, Instrument, custom_scale, load_scales_toml, parse_scale_spec, score_items
from .join import baselines, join_sessions_mood, parse_duration_s, read_store_table, weekly_table
from .pseudonymise import default_key_file, is_pseudonym, load_or_create_key, pseudonymise
from .storage import MOOD_SCHEMA, MOOD_SCHEMA_VERSION, read_mood, write_mood

__all__ = [
    "INSTRUMENTS", "ImportReport", "Instrument", "MOOD_SCHEMA", "MOOD_SCHEMA_VERSION", "Reject", "baselines",
    "custom_scale", "default_key_file", "import_mood_log", "is_pseudonym", "join_sessions_mood",
    "load_or_create_key", "load_scales_toml", "parse_duration_s", "parse_scale_spec", "pseudonymise",
    "read_mood", "read_store_table", "score_items", "weekly_table", "write_mood",
]
