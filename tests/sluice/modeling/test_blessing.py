"""The blessing decision on numbers: floor, objective against the served model, slices."""

from sluice.modeling.blessing import BlessingRules, decide

RULES = BlessingRules(
    objective="log_loss", objective_tolerance=0.01, floor={"accuracy": 0.8}, slice_tolerances={"sex": 0.05}, min_slice_rows=100
)


def metrics(accuracy, log_loss, examples=1000):
    return {"accuracy": accuracy, "log_loss": log_loss, "examples": examples}


def slices(female, male, female_rows=400, male_rows=600):
    return {"sex": {"Female": metrics(0.9, female, female_rows), "Male": metrics(0.85, male, male_rows)}}


def test_first_push_is_judged_by_the_floor_only():
    passed = decide(RULES, metrics(0.81, 0.9))  # a log loss no served model would let through
    assert passed.blessed and "first push" in passed.reason and passed.served is None
    refused = decide(RULES, metrics(0.79, 0.3))
    assert not refused.blessed
    assert refused.reason == "not blessed: accuracy 0.7900 >= 0.8 required"


def test_a_candidate_worse_beyond_the_tolerance_is_refused_with_both_numbers():
    decision = decide(RULES, metrics(0.86, 0.335), metrics(0.86, 0.320), slices(0.30, 0.33), slices(0.30, 0.33), served_version=7)
    assert not decision.blessed
    assert "log_loss 0.3350 vs served 0.3200 (version 7), worse by +0.0150 (tolerance 0.01)" in decision.reason
    assert decision.candidate["log_loss"] == 0.335 and decision.served["log_loss"] == 0.320 and decision.served_version == 7


def test_within_the_tolerance_or_better_is_blessed():
    slightly_worse = decide(RULES, metrics(0.86, 0.325), metrics(0.86, 0.320), slices(0.3, 0.33), slices(0.3, 0.33), served_version=7)
    assert slightly_worse.blessed and "2 slices within tolerance" in slightly_worse.reason
    better = decide(RULES, metrics(0.87, 0.30), metrics(0.86, 0.32), served_version=7)
    assert better.blessed


def test_a_slice_that_falls_beyond_its_tolerance_refuses_a_better_model():
    decision = decide(RULES, metrics(0.87, 0.30), metrics(0.86, 0.32), slices(0.40, 0.25), slices(0.30, 0.33), served_version=7)
    assert not decision.blessed
    failed = [c for c in decision.checks if not c.passed]
    assert [c.slice for c in failed] == ["sex=Female"]
    assert "sex=Female (400 rows): log_loss 0.4000 vs served 0.3000, worse by +0.1000 (tolerance 0.05)" in decision.reason


def test_a_slice_under_the_minimum_rows_is_reported_not_judged():
    decision = decide(
        RULES, metrics(0.87, 0.30), metrics(0.86, 0.32), slices(0.90, 0.30, female_rows=40), slices(0.30, 0.30, female_rows=40), 7
    )
    assert decision.blessed
    small = next(c for c in decision.checks if c.slice == "sex=Female")
    assert small.passed and "40 rows < 100, not judged" in small.detail


def test_a_score_to_maximise_compares_the_other_way():
    rules = BlessingRules(objective="auc", objective_tolerance=0.005)
    assert not decide(rules, {"auc": 0.90}, {"auc": 0.91}, served_version=1).blessed
    assert decide(rules, {"auc": 0.906}, {"auc": 0.91}, served_version=1).blessed
