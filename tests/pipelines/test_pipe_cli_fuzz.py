"""``uvflow image`` under random option values (issue 17): an answer or one clear line.

Hypothesis draws a few options (sizes, scales, weightings, iterations, thresholds, gains,
polarisations, data columns, memory limits) from values that are valid, out of range,
of the wrong type, or random text, and appends an occasional random word. Every run must
end with status 0 (and its products) or 2 (one line ``uvflow: error: …`` on stderr and
no product); never a traceback, never another status, and the input MS is unchanged
(checksum). A valid run images 64 × 64 pixels of 10" serially (``--nworkers 0``), so
the examples take about a second each; most fail in the option checks at once. The
examples are derandomized (the same ones on every run) and not stored.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pytest

from uvflow.pipelines.cli import main

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

from test_pipe_cli_bad_data import SIMULATE, checksum  # noqa: E402

#: the base of every run (a fuzzed option given later overrides these)
BASE = ["-size", "64", "-scale", "10asec", "--nworkers", "0", "--mode", "invert"]


def _text(max_size=8):
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=max_size)


def _number_words():
    return st.one_of(
        st.integers(-(10**12), 10**12).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        _text(),
    )


#: option -> strategy of its value words
OPTIONS = {
    "-size": st.one_of(
        st.sampled_from(
            [
                ["64"],
                ["0"],
                ["-64"],
                ["31"],
                ["33"],
                ["40000"],
                ["64", "48"],
                ["1e3"],
                ["64", "64", "64"],
            ]
        ),
        _number_words().map(lambda w: [w]),
    ),  # fmt: skip
    "-scale": st.one_of(
        st.sampled_from(
            ["10asec", "0", "-1asec", "1.5", "nan", "infdeg", "1e-9asec", "10arcmin", "1e9deg"]
        ),
        _text(),
    ).map(lambda w: [w]),  # fmt: skip
    "-weight": st.one_of(
        st.sampled_from(
            [
                ["natural"],
                ["uniform"],
                ["briggs", "0"],
                ["briggs", "-0.5"],
                ["briggs", "5"],
                ["briggs", "nan"],
                ["briggs"],
                ["natural", "1"],
                ["Briggs", "2"],
                ["bogus"],
            ]
        ),
        _text().map(lambda w: [w]),
    ),  # fmt: skip
    "-niter": st.one_of(st.integers(-3, 20).map(str), _text()).map(lambda w: [w]),
    "--mode": st.sampled_from(["invert", "cip", "bogus"]).map(lambda w: [w]),
    "-threshold": _number_words().map(lambda w: [w]),
    "-gain": _number_words().map(lambda w: [w]),
    "-mgain": _number_words().map(lambda w: [w]),
    "--pol": st.one_of(st.sampled_from(["I", "XX", "IQUV", "ZZ", "linear"]), _text()).map(
        lambda w: [w]
    ),  # fmt: skip
    "--datacolumn": st.one_of(
        st.sampled_from(["DATA", "FLAG", "UVW", "MODEL_DATA", "data", "TIME", ""]), _text()
    ).map(lambda w: [w]),  # fmt: skip
    "--memory-limit": st.sampled_from(["200MB", "1KB", "0", "-5", "abc", "1e3"]).map(
        lambda w: [w]
    ),  # fmt: skip
    "--channels-out": st.one_of(st.integers(-1, 4).map(str), _text()).map(lambda w: [w]),
}


@st.composite
def option_lines(draw):
    """A few fuzzed options, and sometimes a random word anywhere on the line."""
    names = draw(st.lists(st.sampled_from(sorted(OPTIONS)), min_size=1, max_size=4,
                          unique=True))  # fmt: skip
    words = []
    for name in names:
        words += [name, *draw(OPTIONS[name])]
    if draw(st.booleans()):
        words.insert(draw(st.integers(0, len(words))), draw(_text(12)))
    return words


@pytest.fixture(scope="module")
def fuzz_ms(tmp_path_factory):
    ms = tmp_path_factory.mktemp("fuzz") / "f.ms"
    assert main(["-q", *SIMULATE, "--out", str(ms)]) == 0
    return ms


def _run(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    return status, err.getvalue()


def test_random_options_give_an_answer_or_one_line(fuzz_ms):
    before = checksum(fuzz_ms)
    seen = {0: 0, 2: 0}

    @hypothesis.settings(max_examples=30, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))  # fmt: skip
    @hypothesis.given(option_lines())
    def check(words):
        with tempfile.TemporaryDirectory() as out:
            name = Path(out) / "img"
            status, err = _run(["-q", "image", str(fuzz_ms), "-name", str(name), *BASE, *words])
            assert "Traceback" not in err, err
            assert status in (0, 2), (status, err)
            products = sorted(p.name for p in Path(out).iterdir())
            if status == 2:
                lines = err.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("uvflow: error: "), err
                assert products == [], products
            else:
                # one dirty image, or (--channels-out) one per channel and the MFS one
                assert "img-report.json" in products
                assert {"img-dirty.fits", "img-MFS-dirty.fits"} & set(products), products
            seen[status] += 1
        assert checksum(fuzz_ms) == before

    check()
    # the examples reach both outcomes (else the strategies test nothing but the parser)
    assert seen[0] >= 1 and seen[2] >= 1, seen
