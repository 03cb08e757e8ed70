"""Categories unseen in training: a small share warns, a share beyond the tolerated one blocks."""

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from sluice.validation.findings import schema_findings, unseen_category_findings
from sluice.validation.schema_freeze import frozen_schema
from sluice.validation.statistics import stats_options

COMPANIES = [f"company {i:02d}" for i in range(60)]


def statistics(values):
    return tfdv.generate_statistics_from_dataframe(pd.DataFrame({"company": values}), stats_options())


def names(rows: int, seed: int, pool=COMPANIES) -> list[str]:
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(pool) + 1)  # a long tail, as company names have
    return list(rng.choice(pool, rows, p=weights / weights.sum()))


def findings(schema, values, split="eval"):
    stats = statistics(values)
    return schema_findings(tfdv.validate_statistics(stats, schema), split) + unseen_category_findings(stats, schema, split)


@pytest.fixture(scope="module")
def schema():
    return frozen_schema(statistics(names(3000, seed=0)), label=None)


def test_inferred_schema_tolerates_one_percent_of_unseen_values(schema):
    assert tfdv.get_feature(schema, "company").distribution_constraints.min_domain_mass == pytest.approx(0.99)
    assert len(tfdv.get_domain(schema, "company").value) == 60


def test_a_small_unseen_share_is_a_warning_naming_the_values(schema):
    values = names(995, seed=1) + ["Brand New Cab Co"] * 5
    (finding,) = findings(schema, values)
    assert not finding.blocking and finding.kind == "unseen categories" and finding.feature == "company"
    assert "'Brand New Cab Co'" in finding.description and "0.50%" in finding.description and "1.00%" in finding.description


def test_an_unseen_share_beyond_the_tolerance_blocks(schema):
    values = names(950, seed=2) + ["Brand New Cab Co"] * 50
    (finding,) = findings(schema, values)
    assert finding.blocking and "Brand New Cab Co" in finding.description


def test_the_tolerated_share_is_configurable(schema):
    strict = frozen_schema(statistics(names(3000, seed=0)), label=None, unseen_category_share=0.001)
    values = names(995, seed=1) + ["Brand New Cab Co"] * 5
    assert [f.blocking for f in findings(strict, values)] == [True]


def test_a_tail_of_names_seen_once_raises_the_tolerance_so_random_splits_pass():
    rng = np.random.default_rng(3)
    # 30 common names and 50 rare ones: each rare name is in the file once (5% of rows).
    rows = names(950, seed=3, pool=COMPANIES[:30]) + [f"rare {i}" for i in range(50)]
    rows = list(rng.permutation(rows))
    for seed in range(3):
        inside = np.random.default_rng(seed).random(len(rows)) < 0.8
        train = [r for r, keep in zip(rows, inside) if keep]
        other = [r for r, keep in zip(rows, inside) if not keep]
        schema = frozen_schema(statistics(train), label=None)
        assert tfdv.get_feature(schema, "company").distribution_constraints.min_domain_mass < 0.9
        assert not [f for f in findings(schema, other) if f.blocking]
