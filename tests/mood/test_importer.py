"""Mood log import: every kind of bad row, idempotence, time zones, pseudonymisation, permissions."""

from __future__ import annotations

import csv
import json
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from repsense.errors import FormatError, InputError
from repsense.mood import import_mood_log, load_or_create_key, parse_scale_spec, pseudonymise, read_mood

HEADER = "participant,timestamp,instrument," + ",".join(f"item{i}" for i in range(1, 21)) + ",total\n"


def row(pid: str, ts: str, inst: str, items: list = (), total: str = "") -> str:
    cells = [str(v) for v in items] + [""] * (20 - len(items))
    return ",".join([pid, ts, inst, *cells, total]) + "\n"


def write(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(rows))
    return path


def rejects_of(report) -> dict[int, str]:
    return {r.line: r.reason for r in report.rejects}


BAD_ROWS = [
    # (row, expected reason prefix)
    (row("P01", "2026-03-02T08:00:00+01:00", "BDI-II", [], "10"), "unknown instrument"),
    (row("P01", "2026-03-02T08:01:00+01:00", "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, 4]), "out of range"),
    (row("P01", "2026-03-02T08:02:00+01:00", "PHQ-9", [1] * 8), "wrong item count"),
    (row("P01", "2026-03-02T08:03:00+01:00", "GAD-7", [1] * 7, "9"), "total mismatch"),
    (row("", "2026-03-02T08:04:00+01:00", "GAD-7", [1] * 7), "missing participant"),
    (row("P01", "2026-02-30T08:05:00+01:00", "GAD-7", [1] * 7), "bad timestamp"),
    (row("P01", "yesterday", "GAD-7", [1] * 7), "bad timestamp"),
    (row("P01", "2026-03-02T08:06:00", "GAD-7", [1] * 7), "naive timestamp"),
    (row("P01", "2026-03-02T08:07:00+01:00", "GAD-7", [1, 1, "x", 1, 1, 1, 1]), "non-numeric value"),
    (row("P01", "2026-03-02T08:08:00+01:00", "FS", [], "good"), "non-numeric value"),
    (row("P01", "2026-03-02T08:09:00+01:00", "FS", [], "6"), "out of range"),
    (row("P01", "2026-03-02T08:10:00+01:00", "PHQ-9", []), "no score"),
    (row("P01", "2026-03-02T08:11:00+01:00", "PHQ-9", [1, 1, "", 1, 1, 1, 1, 1, 1]), "wrong item count"),
    (row("P01", "2026-03-02T08:12:00+01:00", "PHQ-9", [], "28"), "out of range"),
    (row("P01", "2026-03-02T08:13:00+01:00", "GAD-7", [1, 1, 1, 1.5, 1, 1, 1]), "not a whole number"),
    ("P01,2026-03-02T08:14:00+01:00,GAD-7,1,1\n", "wrong field count"),
    # ids too long for a store folder name (> 180 bytes once percent-encoded): this row only
    (row("x" * 181, "2026-03-02T08:15:00+01:00", "FS", [], "1"), "bad participant"),
    (row("\u00e9" * 31, "2026-03-02T08:16:00+01:00", "FS", [], "1"), "bad participant"),  # 62 bytes, 186 encoded
]


def test_every_kind_of_bad_row_is_rejected_with_line_and_reason(tmp_path: Path, store: Path) -> None:
    good = row("P01", "2026-03-02T07:00:00+01:00", "PHQ-9", [0, 1, 2, 3, 0, 1, 2, 3, 3])
    log = write(tmp_path / "log.csv", good, *(r for r, _ in BAD_ROWS))
    rep = import_mood_log(log, store)
    assert (rep.n_rows, rep.n_added, len(rep.rejects)) == (1 + len(BAD_ROWS), 1, len(BAD_ROWS))
    got = rejects_of(rep)
    for line, (_, reason) in enumerate(BAD_ROWS, start=3):  # header = line 1, good row = line 2
        assert got[line].startswith(reason), (line, got[line])
    # The rejects file holds the same rows: file, line, reason, raw row.
    with open(rep.rejects_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["line"]) for r in rows] == list(range(3, 3 + len(BAD_ROWS)))
    assert all(r["file"] == "log.csv" and r["reason"] and r["raw"] for r in rows)
    assert rows[0]["raw"].startswith("P01,2026-03-02T08:00:00+01:00,BDI-II")
    stored = read_mood(store)
    assert stored["total"].to_pylist() == [15.0]
    assert stored["items"].to_pylist() == [[0, 1, 2, 3, 0, 1, 2, 3, 3]]


def test_total_given_and_matching_is_checked(tmp_path: Path, store: Path) -> None:
    log = write(tmp_path / "log.csv",
                row("P01", "2026-03-02T07:00:00Z", "STAI-Y1", [(i % 4) + 1 for i in range(20)], "46"),
                row("P01", "2026-03-02T07:00:00Z", "GAD-7", [], "12"),
                row("P01", "2026-03-02T07:00:00Z", "Felt Arousal Scale", [4]))
    rep = import_mood_log(log, store)
    assert rep.rejects == []
    got = {r["instrument"]: (r["total"], r["total_source"]) for r in read_mood(store).to_pylist()}
    assert got == {"stai_y1": (46.0, "items+given"), "gad7": (12.0, "given"), "fas": (4.0, "items")}


def test_import_is_idempotent(tmp_path: Path, store: Path) -> None:
    log = write(tmp_path / "log.csv",
                row("P01", "2026-03-02T07:00:00+01:00", "GAD-7", [1] * 7),
                row("P02", "2026-03-02T07:00:00+01:00", "GAD-7", [2] * 7),
                row("P01", "2026-03-02T08:00:00+01:00", "FS", [], "bad"))
    first = import_mood_log(log, store)
    files = sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file())
    second = import_mood_log(log, store)
    assert (first.n_added, first.n_already_stored, len(first.rejects)) == (2, 0, 1)
    assert (second.n_added, second.n_already_stored, len(second.rejects)) == (0, 2, 1)
    assert sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file()) == files
    assert read_mood(store).num_rows == 2
    # The same entries in another file (other order, one new entry) add only the new one.
    other = write(tmp_path / "other.csv",
                  row("P02", "2026-03-02T06:00:00Z", "GAD-7", [2] * 7),  # same instant as above, other offset
                  row("P01", "2026-03-09T07:00:00+01:00", "GAD-7", [0] * 7))
    third = import_mood_log(other, store)
    assert (third.n_added, third.n_already_stored) == (1, 1)
    assert read_mood(store).num_rows == 3


def test_duplicates_and_conflicts(tmp_path: Path, store: Path) -> None:
    log = write(tmp_path / "log.csv",
                row("P01", "2026-03-02T07:00:00+01:00", "GAD-7", [1] * 7),
                row("P01", "2026-03-02T07:00:00+01:00", "GAD-7", [1] * 7),
                row("P01", "2026-03-02T06:00:00+00:00", "GAD-7", [2] * 7))
    rep = import_mood_log(log, store)
    assert rep.n_added == 1
    assert rejects_of(rep) == {3: "duplicate: same participant, instrument and time as line 2",
                               4: "duplicate: conflicts with line 2 (same participant, instrument and time, "
                                  "other score)"}
    later = write(tmp_path / "later.csv", row("P01", "2026-03-02T07:00:00+01:00", "GAD-7", [3] * 7))
    rep2 = import_mood_log(later, store)
    assert rep2.n_added == 0 and rejects_of(rep2)[2].startswith("duplicate: conflicts with the stored entry")
    assert read_mood(store)["total"].to_pylist() == [7.0]


def test_jsonl_items_list_and_bad_lines(tmp_path: Path, store: Path) -> None:
    lines = [
        {"participant": "P01", "timestamp": "2026-03-02T07:00:00+01:00", "instrument": "PHQ-9",
         "items": [0, 0, 1, 1, 2, 2, 3, 3, 0]},
        {"participant": "P01", "timestamp": "2026-03-02T07:00:00+01:00", "instrument": "fs", "total": -3},
        {"participant": "P01", "timestamp": "2026-03-02T07:00:00+01:00", "instrument": "GAD-7", "items": [1, 2]},
        {"participant": "P01", "timestamp": "2026-03-02T07:01:00+01:00", "instrument": "GAD-7",
         "items": [1, True, 1, 1, 1, 1, 1]},
        {"timestamp": "2026-03-02T07:00:00+01:00", "instrument": "fs", "total": 1},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n[1, 2]\n"
    (tmp_path / "log.jsonl").write_text(text)
    rep = import_mood_log(tmp_path / "log.jsonl", store)
    assert rep.n_added == 2
    assert {k: v.split(":")[0] for k, v in rejects_of(rep).items()} == {
        3: "wrong item count", 4: "non-numeric value", 5: "missing participant", 6: "bad JSON", 7: "bad JSON"}
    got = {r["instrument"]: r["total"] for r in read_mood(store).to_pylist()}
    assert got == {"phq9": 12.0, "fs": -3.0}


def test_custom_scale(tmp_path: Path, store: Path) -> None:
    log = write(tmp_path / "log.csv",
                row("P01", "2026-03-02T07:00:00Z", "energy", [], "7.5"),
                row("P01", "2026-03-02T08:00:00Z", "energy", [], "11"),
                row("P01", "2026-03-02T09:00:00Z", "energy", [3], ""))
    rep = import_mood_log(log, store, scales=[parse_scale_spec("energy:0:10")])
    assert rep.n_added == 1
    assert rejects_of(rep)[3].startswith("out of range") and rejects_of(rep)[4].startswith("wrong item count")
    entry = read_mood(store).to_pylist()[0]
    assert (entry["instrument"], entry["total"], entry["instrument_version"]) == ("energy", 7.5,
                                                                                 "custom scale energy [0, 10]")
    rep = import_mood_log(log, tmp_path / "other")
    assert all(r.reason.startswith("unknown instrument") for r in rep.rejects)


def test_timezones_offsets_and_dst(tmp_path: Path, store: Path) -> None:
    # Europe/Amsterdam: CET (+01) until 2026-03-29 02:00 local, CEST (+02) until 2026-10-25 03:00 local.
    log = write(tmp_path / "log.csv",
                row("P01", "2026-03-29T01:30:00", "FS", [], "1"),     # CET -> 00:30Z
                row("P01", "2026-03-29T02:30:00", "FS", [], "1"),     # does not exist
                row("P01", "2026-03-29T03:30:00", "FS", [], "1"),     # CEST -> 01:30Z
                row("P01", "2026-10-25T02:30:00", "FS", [], "1"),     # happens twice
                row("P01", "2026-10-25T02:30:00+01:00", "FS", [], "2"),  # explicit offset: fine
                row("P01", "2026-10-25T03:30:00", "FS", [], "1"),     # CET again -> 02:30Z
                row("P01", "2026-06-01T12:00:00-04:00", "FS", [], "3"))  # offset given: zone not used
    rep = import_mood_log(log, store, timezone_name="Europe/Amsterdam")
    assert rejects_of(rep)[3].startswith("naive timestamp") and "does not exist" in rejects_of(rep)[3]
    assert rejects_of(rep)[5].startswith("naive timestamp") and "twice" in rejects_of(rep)[5]
    got = [(r["t_utc"].astimezone(timezone.utc).replace(tzinfo=None), r["utc_offset_s"], r["timezone"])
           for r in read_mood(store).to_pylist()]
    assert got == [
        (datetime(2026, 3, 29, 0, 30), 3600, "Europe/Amsterdam"),
        (datetime(2026, 3, 29, 1, 30), 7200, "Europe/Amsterdam"),
        (datetime(2026, 6, 1, 16, 0), -14400, ""),
        (datetime(2026, 10, 25, 1, 30), 3600, ""),
        (datetime(2026, 10, 25, 2, 30), 3600, "Europe/Amsterdam"),
    ]
    with pytest.raises(InputError, match="unknown time zone"):
        import_mood_log(log, store, timezone_name="Mars/Olympus")


def test_file_level_errors(tmp_path: Path, store: Path) -> None:
    (tmp_path / "nohead.csv").write_text("who,when,what,score\nP01,2026-03-02T07:00:00Z,FS,1\n")
    with pytest.raises(FormatError, match="line 1: header lacks column.*participant, timestamp, instrument"):
        import_mood_log(tmp_path / "nohead.csv", store)
    (tmp_path / "noscore.csv").write_text("participant,timestamp,instrument\nP01,2026-03-02T07:00:00Z,FS\n")
    with pytest.raises(FormatError, match="total or item1..itemN"):
        import_mood_log(tmp_path / "noscore.csv", store)
    with pytest.raises(InputError, match="cannot read"):
        import_mood_log(tmp_path / "missing.csv", store)
    (tmp_path / "latin1.csv").write_bytes(HEADER.encode() + "P\xe9,x,y\n".encode("latin-1"))
    with pytest.raises(FormatError, match="not UTF-8"):
        import_mood_log(tmp_path / "latin1.csv", store)


def _modes(root: Path) -> set[tuple[str, int]]:
    return {("d" if p.is_dir() else "f", stat.S_IMODE(p.stat().st_mode)) for p in [root, *root.rglob("*")]}


def test_pseudonymised_import_hides_ids_and_is_private(tmp_path: Path, store: Path) -> None:
    key_file = tmp_path / "keys" / "k.key"
    key = load_or_create_key(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and load_or_create_key(key_file) == key
    log = write(tmp_path / "log.csv",
                row("ALICE-7731", "2026-03-02T07:00:00+01:00", "GAD-7", [1] * 7),
                row("ALICE-7731", "2026-03-02T08:00:00+01:00", "GAD-7", [9] * 7),
                row("BOB-4410", "2026-03-02T07:00:00+01:00", "Nope", [], "1"))
    rep = import_mood_log(log, store, key=key)
    assert rep.n_added == 1 and len(rep.rejects) == 2
    pseudo = pseudonymise("ALICE-7731", key)
    assert read_mood(store)["participant"].to_pylist() == [pseudo]
    assert (store / "mood" / f"participant={pseudo}").is_dir()
    everything = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
    everything += b"".join(p.encode() for p in (str(x) for x in store.rglob("*")))
    assert b"ALICE" not in everything and b"BOB" not in everything and b"log.csv" not in everything
    assert pseudonymise("BOB-4410", key).encode() in rep.rejects_path.read_bytes()
    assert _modes(store) <= {("d", 0o700), ("f", 0o600)}


def test_overlong_id_rejected_alone_and_stored_once_pseudonymised(tmp_path: Path, store: Path) -> None:
    long_id = "y" * 300
    log = write(tmp_path / "log.csv",
                row("P01", "2026-03-02T07:00:00Z", "FS", [], "1"),
                row(long_id, "2026-03-02T07:00:00Z", "FS", [], "2"),
                row("P02", "2026-03-02T07:00:00Z", "FS", [], "3"))
    rep = import_mood_log(log, store)
    assert (rep.n_added, rejects_of(rep)) == (2, {3: rejects_of(rep)[3]})
    assert rejects_of(rep)[3].startswith("bad participant: id too long for a store folder name")
    assert long_id not in rejects_of(rep)[3]  # the reason names no id (the raw row does)
    assert read_mood(store)["participant"].to_pylist() == ["P01", "P02"]
    again = import_mood_log(log, store)
    assert (again.n_added, again.n_already_stored, len(again.rejects)) == (0, 2, 1)
    # a pseudonym always fits: with a key the same row is stored
    key = b"k" * 32
    rep = import_mood_log(log, tmp_path / "pseudo", key=key)
    assert (rep.n_added, rep.rejects) == (3, [])
    assert pseudonymise(long_id, key) in read_mood(tmp_path / "pseudo")["participant"].to_pylist()


def test_key_file_refused_when_open_to_others(tmp_path: Path) -> None:
    k = tmp_path / "k.key"
    load_or_create_key(k)
    k.chmod(0o644)
    with pytest.raises(InputError, match="group or others"):
        load_or_create_key(k)
    k.chmod(0o600)
    k.write_text("zz\n")
    with pytest.raises(InputError, match="hex"):
        load_or_create_key(k)


def test_pseudonymise_is_keyed_and_stable() -> None:
    a, b = b"a" * 32, b"b" * 32
    assert pseudonymise("P01", a) == pseudonymise(" P01 ", a) != pseudonymise("P01", b)
    assert pseudonymise("P01", a) != pseudonymise("P02", a)
    p = pseudonymise("P01", a)
    assert p.startswith("ps-") and len(p) == 27 and pseudonymise(p, a) == p
    with pytest.raises(ValueError):
        pseudonymise("P01", b"short")


def test_pseudonymised_rejects_hide_ids_in_every_raw_form(tmp_path: Path, store: Path) -> None:
    key = b"k" * 32
    (tmp_path / "log.jsonl").write_text(
        '{"participant": "CAROL-1", "timestamp": "2026-03-02T07:00:00", "instrument": "fs", "total": 1}\n'
        '{"participant": "CAROL-1", "timestamp": oops}\n')
    rep = import_mood_log(tmp_path / "log.jsonl", store, key=key)
    assert [r.reason.split(":")[0] for r in rep.rejects] == ["naive timestamp", "bad JSON"]
    assert json.loads(rep.rejects[0].raw)["participant"] == pseudonymise("CAROL-1", key)
    assert rep.rejects[1].raw.startswith("<unparsable line withheld")
    log = write(tmp_path / "log.csv", "CAROL-1,2026-03-02T07:00:00Z,GAD-7,1\n")  # wrong field count
    rep = import_mood_log(log, store, key=key)
    assert rep.rejects[0].raw.startswith(pseudonymise("CAROL-1", key) + ",")
    assert b"CAROL" not in b"".join(p.read_bytes() for p in store.rglob("*.csv"))


@pytest.mark.parametrize(("name", "added", "rejected"), [("mood_demo.csv", 20, 2), ("mood_demo_metamotion.csv", 26, 2)])
def test_shipped_demo_logs_import(name: str, added: int, rejected: int, store: Path) -> None:
    log = Path(__file__).resolve().parents[2] / "docs" / "examples" / name
    rep = import_mood_log(log, store, timezone_name="Europe/Amsterdam")
    assert (rep.n_added, len(rep.rejects)) == (added, rejected)
    assert {r.reason.split(":")[0] for r in rep.rejects} == {"wrong item count", "total mismatch"}


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_damaged_mood_file_is_a_clear_error(tmp_path: Path, store: Path, damage: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A mood file damaged outside repsense (cut copy, bad disk) is named in one line, never a traceback."""
    from repsense.cli.main import main
    from repsense.errors import SchemaError

    log = write(tmp_path / "log.csv", row("P01", "2026-03-02T07:00:00Z", "FS", [], "1"))
    (stored,) = import_mood_log(log, store).written
    data = bytearray(stored.read_bytes())
    if damage == "truncated":
        del data[100:]
    else:  # footer intact, column chunks garbled
        data[8:400] = bytes(b ^ 0x5A for b in data[8:400])
    stored.write_bytes(bytes(data))
    with pytest.raises(SchemaError, match="not a readable Parquet file" if damage == "truncated" else
                       "cannot read the mood table") as info:
        read_mood(store)
    assert str(stored if damage == "truncated" else store / "mood") in str(info.value)
    capsys.readouterr()
    assert main(["mood", "import", str(log), "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_bit_flips_in_a_mood_file_never_read_back_silently_different(tmp_path: Path, store: Path, rng) -> None:
    """Page checksums are verified and the columns checked: one flipped bit anywhere either reads back
    the same entries or is a SchemaError (before: ~40% of flips read back silently different)."""
    from repsense.errors import SchemaError

    log = write(tmp_path / "log.csv", *(row("P01", f"2026-03-{i % 27 + 1:02d}T07:{i % 60:02d}:00Z", "PHQ-9", [],
                                            str(i % 28)) for i in range(120)))
    (stored,) = import_mood_log(log, store).written
    original, reference = stored.read_bytes(), read_mood(store)
    outcome = {"same": 0, "error": 0}
    for pos in rng.integers(4, len(original) - 8, 200):
        data = bytearray(original)
        data[pos] ^= 1 << int(rng.integers(8))
        stored.write_bytes(bytes(data))
        try:
            got = read_mood(store)
        except SchemaError:
            outcome["error"] += 1
            continue
        assert got.equals(reference), f"bit flip at byte {pos} of {len(original)} read back different"
        outcome["same"] += 1
    assert outcome["error"] > 100, outcome  # most flips hit data pages or the footer
