"""warm_up(): after it, a fresh process's first input loads no numba kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import write_csv_recording

_CHILD = r"""
import json, sys
import numba
from numba.core.registry import CPUDispatcher

def signatures():
    out = {}
    for name, mod in list(sys.modules.items()):
        if not name.startswith("repsense"):
            continue
        for attr, obj in list(vars(mod).items()):
            if isinstance(obj, CPUDispatcher):
                out[f"{name}.{attr}"] = sorted(str(s) for s in obj.signatures)
    return out

from repsense.batch.work import BatchOptions, Task, process_input, warm_up
first = warm_up()
again = warm_up()
before = signatures()
path = sys.argv[1]
r = process_input(Task(path=path, files=(path,)), BatchOptions(out_dir=sys.argv[2]))
after = signatures()
new = {k: v for k, v in after.items() if v != before.get(k, [])}
print(json.dumps({"first": first, "again": again, "status": r.status, "n_reps": r.n_reps,
                  "warm": sorted(k for k, v in before.items() if v), "new": new}))
"""


def test_warm_up_loads_every_kernel_a_real_input_needs(tmp_path: Path) -> None:
    rec = tmp_path / "rec.csv"
    write_csv_recording(rec, seed=7)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(rec), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["status"] == "written" and got["n_reps"] > 0
    assert got["first"] > 0.0 and got["again"] == 0.0
    # the warm-up loaded the detector's kernels (the resampler, the set finder and the fused
    # stretch analysis at least; their callees compile into them)...
    for kernel in ("repsense.dsp._kernels._resample_linear", "repsense.segment._kernels._activity_sets",
                   "repsense.segment._kernels._analyse_stretches"):
        assert kernel in got["warm"], got["warm"]
    assert got["new"] == {}  # ...and the real input needed no other
