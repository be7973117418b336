"""The SQLite twin of PostgreSQL's percentile_cont (app.queries.metrics.percentile): the aging
medians and p90s on the dashboard must not depend on which database runs the CRM."""
import pytest

from app.queries.metrics import percentile

# Expected numbers computed once on PostgreSQL 15 with
#   SELECT percentile_cont(q) WITHIN GROUP (ORDER BY x) FROM unnest(ARRAY[...]::float8[]) x
# and hard-coded here (the float noise is PostgreSQL's own, e.g. 9.100000000000001).
POSTGRES = [
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], {0: 1, 0.25: 3.25, 0.5: 5.5, 0.9: 9.1, 1: 10}),
    ([3.5, 1.25, 10, 7], {0: 1.25, 0.25: 2.9375, 0.5: 5.25, 0.9: 9.100000000000001, 1: 10}),
    ([5], {0: 5, 0.25: 5, 0.5: 5, 0.9: 5, 1: 5}),
    ([2, 8], {0: 2, 0.25: 3.5, 0.5: 5, 0.9: 7.4, 1: 8}),
    ([0.1, 0.2, 100.0, 3.3, 7.7, 42.0, 12.5], {0: 0.1, 0.25: 1.7499999999999998, 0.5: 7.7,
                                                0.9: 65.20000000000002, 1: 100}),
]


def test_no_values_have_no_percentile():
    assert percentile([], 0.5) is None
    assert percentile([], 0.9) is None


@pytest.mark.parametrize("q", [0, 0.1, 0.5, 0.9, 1])
def test_one_value_is_every_percentile(q):
    assert percentile([4.2], q) == 4.2


@pytest.mark.parametrize("values,expected", POSTGRES, ids=["1..10", "unsorted-4", "single", "pair", "skewed-7"])
def test_interpolates_between_closest_ranks_like_percentile_cont(values, expected):
    for q, want in expected.items():
        assert percentile(values, q) == pytest.approx(want, rel=1e-12, abs=1e-12), q


def test_the_order_of_the_rows_does_not_matter_and_the_input_is_not_reordered():
    values = [10, 1, 7, 3.5, 1.25]
    copy = list(values)
    assert percentile(values, 0.9) == percentile(sorted(values), 0.9) == percentile(values[::-1], 0.9)
    assert values == copy


def test_an_exact_rank_needs_no_interpolation_and_duplicates_count():
    assert percentile([1, 2, 3, 4, 5], 0.5) == 3
    assert percentile([1, 1, 1, 10], 0.5) == 1
    assert percentile([1, 1, 1, 10], 0.9) == pytest.approx(7.3)  # 1 + (10 - 1) * 0.7


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two_not_the_lower_one():
    assert percentile([2, 4, 6, 100], 0.5) == 5
