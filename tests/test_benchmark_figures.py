"""The benchmark's figures of cost by size (benchmarks/run.py): what each further MB costs, and the spreads."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up while being made
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return module


def test_a_fixed_start_up_makes_seconds_per_mb_fall_but_not_the_marginal_cost(bench):
    # 0.3 s of start-up, then 0.25 s per MB: linear in size.
    sizes = [(30.0, 0.3 + 30 * 0.25), (1.5, 0.3 + 1.5 * 0.25), (6.0, 0.3 + 6 * 0.25)]
    rows = bench.costs_per_mb(sizes)
    assert [mb for mb, _per_mb, _marginal in rows] == [1.5, 6.0, 30.0]
    assert rows[0][2] is None
    assert [round(marginal, 6) for _mb, _per_mb, marginal in rows[1:]] == [0.25, 0.25]
    assert [round(per_mb, 4) for _mb, per_mb, _marginal in rows] == [0.45, 0.3, 0.26]
    assert bench.spread([marginal for _mb, _p, marginal in rows[1:]]) == pytest.approx(1.0)
    assert bench.spread([per_mb for _mb, per_mb, _m in rows]) == pytest.approx(0.45 / 0.26)


def test_a_cost_that_grows_faster_than_size_shows_in_the_marginal_spread(bench):
    sizes = [(1.0, 1.0), (2.0, 3.0), (4.0, 11.0)]  # seconds = size squared less one, plus a second
    rows = bench.costs_per_mb(sizes)
    assert [marginal for _mb, _p, marginal in rows] == [None, 2.0, 4.0]
    assert bench.spread([2.0, 4.0]) == 2.0


def test_no_spread_from_one_value_or_from_a_size_measured_faster_than_a_smaller_one(bench):
    assert bench.spread([0.3]) is None
    assert bench.spread([0.2, -0.1]) is None
    rows = bench.costs_per_mb([(1.0, 0.5), (1.0, 0.6)])
    assert rows[1][2] is None  # the same size twice: no marginal cost between them
