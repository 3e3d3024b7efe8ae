"""Column writes are all-or-nothing and readers never see half a write (issue 17, items 3–4).

A write of MODEL_DATA goes into a staged copy that replaces the column only at the end;
readers hold the table's read lock for a whole read. The heavy versions (200 reads, 20
signals) run with ``UVFLOW_HEAVY_FAULTS=1``; the default run keeps small ones.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytest.importorskip("casacore.tables")

from uvflow.datamodels import read_ms, write_ms
from uvflow.datamodels.io import MeasurementSetError, write_column
from uvflow.datamodels.io.ms_staging import STAGING_TAG, begin_column_write, check_column_space
from uvflow.datamodels.io.ms_tables import TableBusyError, open_table
from uvflow.datamodels.testing import random_configuration, simple_visibility

HEAVY = os.environ.get("UVFLOW_HEAVY_FAULTS") == "1"
NREADS = 200 if HEAVY else 20
NSIGNALS = 20 if HEAVY else 3


@pytest.fixture(scope="module")
def master_ms(tmp_path_factory):
    """351 baselines × 40 times × 32 channels × 4 correlations: a 14 MiB column, written
    in 8 chunks (a write takes long enough to be caught in the middle)."""
    config = random_configuration(nant=27, radius=2000.0, seed=1)
    v = simple_visibility(config, ntime=40, frequency=np.linspace(1.0e8, 1.2e8, 32),
                          polarisation_frame="linear", dtype=np.complex64)  # fmt: skip
    v = v.replace(vis=np.ones_like(v.vis))
    path = tmp_path_factory.mktemp("atomic") / "m.ms"
    write_ms([v], path)
    return path


@pytest.fixture
def ms(master_ms, tmp_path):
    import shutil

    copy = tmp_path / "m.ms"
    shutil.copytree(master_ms, copy)
    return copy


def columns(path) -> dict:
    """Every column's values of the main table (cells as arrays)."""
    with open_table(str(path)) as t:
        return {c: t.getcol(c) for c in t.colnames() if c != "FLAG_CATEGORY"}


def assert_same_columns(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for c in a:
        np.testing.assert_array_equal(a[c], b[c], err_msg=c)


# a child process: write MODEL_DATA = k (k = 1, 2, …) in 8 chunks, repeatedly
WRITER = textwrap.dedent("""
    import sys, time, numpy as np, signal
    from uvflow.datamodels import read_ms
    from uvflow.datamodels.io import write_column
    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)  # as the CLI does: clean-up runs
    ms, repeat = sys.argv[1], int(sys.argv[2])
    parts = read_ms(ms, time_chunks=8)
    k = 0
    while repeat < 0 or k < repeat:
        k += 1
        write_column(ms, [p.replace(vis=np.full_like(p.vis, k)) for p in parts])
        print(k, flush=True)
        time.sleep(0.3)  # a reader would wait for a writer that never pauses (lock fairness)
""")


def writer(ms, repeat: int, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(ms), str(repeat)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})  # fmt: skip


def test_reads_during_repeated_writes_are_never_mixed(ms):
    write_column(ms, [p.replace(vis=np.zeros_like(p.vis)) for p in read_ms(ms)])
    proc = writer(ms, -1)
    try:
        values, mixed = [], 0
        assert proc.stdout.readline().strip() == "1"  # the writer has started writing
        for _ in range(NREADS):
            (m,) = read_ms(ms, datacolumn="MODEL_DATA")
            seen = np.unique(m.vis[~m.flags])
            mixed += seen.size != 1
            values.append(seen[0].real)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert mixed == 0, f"{mixed} of {NREADS} reads mixed two writes"
    assert len(set(values)) > 1  # the reads did overlap several writes
    assert not [c for c in columns(ms) if STAGING_TAG in c]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_any_moment_leaves_old_or_new(ms, sig):
    """Stopped by ``sig`` at random moments of a run writing MODEL_DATA = 1 (half of them
    during the column write): afterwards the MS is the original (no MODEL_DATA) or the
    fully written one, nothing else."""
    original = columns(ms)
    rng = random.Random(17)
    outcomes = []
    for i in range(NSIGNALS):
        proc = writer(ms, 1)
        if i % 2:  # during the write: 0–0.15 s after the column was staged
            while proc.poll() is None and b"_UVFLOW_TMP_" not in (ms / "table.dat").read_bytes():
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.15))
        else:  # any moment of the run (python start-up and import take ~1.5 s)
            time.sleep(rng.uniform(0.5, 4.0))
        proc.send_signal(sig)
        proc.wait(120)
        after = columns(ms)
        if "MODEL_DATA" in after:
            outcomes.append("written")
            np.testing.assert_array_equal(after.pop("MODEL_DATA"), 1)
        else:
            outcomes.append("original")
        assert_same_columns(after, original)
        if "MODEL_DATA" in columns(ms):  # back to the original for the next round
            with open_table(str(ms), readonly=False) as t:
                t.removecols("MODEL_DATA")
    print(sig.name, outcomes)


def test_a_second_writer_waits_then_is_refused_with_a_message(ms):
    original = columns(ms)
    script = textwrap.dedent(f"""
        import time
        from uvflow.datamodels.io.ms_staging import begin_column_write
        begin_column_write({str(ms)!r}, ["MODEL_DATA"])
        print("staged", flush=True)
        time.sleep(60)
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "staged"
        proc = writer(ms, 1, UVFLOW_MS_LOCK_TIMEOUT="2")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0
        last = err.strip().splitlines()[-1]
        assert "TableBusyError" in last and f"pid {holder.pid}" in last, last
        assert "is writing it" in last and "waited 2 s" in last
    finally:
        holder.kill()
        holder.wait()
    # the holder died without cleaning up: the next write removes its staging column
    parts = read_ms(ms)
    write_column(ms, [p.replace(vis=np.full_like(p.vis, 2)) for p in parts])
    after = columns(ms)
    np.testing.assert_array_equal(after.pop("MODEL_DATA"), 2)
    assert_same_columns(after, original)


def test_the_same_process_refuses_a_second_write_at_once(ms):
    staging = begin_column_write(str(ms), ["MODEL_DATA"])
    with pytest.raises(TableBusyError, match=r"is writing it \(MODEL_DATA_UVFLOW_TMP_"):
        begin_column_write(str(ms), ["CORRECTED_DATA"], wait=0)
    assert STAGING_TAG in staging["MODEL_DATA"]


def test_an_error_in_the_middle_changes_nothing(ms):
    parts = read_ms(ms, time_chunks=4)
    write_column(ms, [p.replace(vis=np.full_like(p.vis, 3)) for p in parts])
    before = columns(ms)
    bad = parts[2].replace(vis=np.full_like(parts[2].vis, 4))
    bad.meta["ms_channels"] = bad.meta["ms_channels"][:-1]  # found only when its turn comes
    new = [p.replace(vis=np.full_like(p.vis, 4)) for p in parts[:2]] + [bad]
    with pytest.raises(MeasurementSetError, match="selected after reading"):
        write_column(ms, new)
    assert_same_columns(columns(ms), before)


def _fsize_limited_write(ms, limit: int) -> subprocess.CompletedProcess:
    """write_column in a child whose files may not grow past ``limit`` bytes (EFBIG,
    the same failure of write() as a full disk)."""
    script = textwrap.dedent(f"""
        import resource, signal, numpy as np
        from uvflow.datamodels import read_ms
        from uvflow.datamodels.io import write_column
        parts = read_ms({str(ms)!r}, time_chunks=8)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        write_column({str(ms)!r}, [p.replace(vis=np.full_like(p.vis, 5)) for p in parts])
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_a_write_that_runs_out_of_space_leaves_the_ms_as_it_was(ms):
    original, files = columns(ms), sorted(os.listdir(ms))
    # the MODEL_DATA copy needs 14 MiB in one file: stopped at 4 MiB
    out = _fsize_limited_write(ms, 4 << 20)
    assert out.returncode == 1, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert "MeasurementSetError" in last and "the MS is unchanged" in last, last
    assert "Aborted" not in out.stderr
    assert_same_columns(columns(ms), original)
    assert sorted(os.listdir(ms)) == files  # no stray files


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_too_little_free_space_is_refused_before_writing(ms, tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    size = sum(f.stat().st_size for f in ms.rglob("*") if f.is_file()) + (2 << 20)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:  # fmt: skip
        pytest.skip("cannot mount a tmpfs here")
    try:
        import shutil

        small = mount / "m.ms"
        shutil.copytree(ms, small)
        original, files = columns(small), sorted(os.listdir(small))
        parts = read_ms(small)
        message = r"needs about .* MiB free .* MiB available"
        with pytest.raises(MeasurementSetError, match=message):
            check_column_space(small, ["MODEL_DATA"])  # the early check, before any work
        with pytest.raises(MeasurementSetError, match=message):
            write_column(small, [p.replace(vis=np.full_like(p.vis, 6)) for p in parts])
        assert_same_columns(columns(small), original)
        assert sorted(os.listdir(small)) == files
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_write_staged_on_another_host_is_left_alone_and_named(ms):
    """Whether a writer on another host still runs cannot be told: never removed, the
    refusal names the column to remove by hand."""
    from uvflow.datamodels.io.ms_staging import OWNER_KEYWORD, add_data_column

    column = f"MODEL_DATA{STAGING_TAG}0BADC0DE"
    with open_table(str(ms), readonly=False) as t:
        add_data_column(t, column, str(ms), "DATA")
        t.putcolkeyword(column, OWNER_KEYWORD, {"pid": 1, "host": "elsewhere", "started": "x"})
    with pytest.raises(TableBusyError, match=f"if that run is gone, remove the column {column}"):
        begin_column_write(str(ms), ["MODEL_DATA"], wait=0)
    assert column in columns(ms)
