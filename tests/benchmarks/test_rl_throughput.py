"""The reinforcement-learning throughput benchmark in miniature."""

import pytest

from benchmarks import rl_throughput
from ilax import envs, experts, scripts

QUICK = rl_throughput.Settings(
    num_envs=(8,), unroll_length=16, min_calls=2, min_time_s=0.0
)


@pytest.mark.slow  # about 35 s on 2 cores: four programs compile
def test_one_batch_size_times_every_program_and_pairs_the_ratios():
    env = envs.make("pendulum")
    row = rl_throughput.row(env, experts.make(env), 8, QUICK)
    assert set(row["programs"]) == {"bare", "collect", "ppo", "gail_ppo"}
    for program in row["programs"].values():
        assert program["calls"] == 2 and program["steps_per_s"] > 0
        assert program["compile_s"] > 0
    assert row["steps_per_iteration"] == 128
    for name in ("gail_over_ppo", "ppo_over_bare", "collect_over_bare"):
        ratio = row[name]
        assert 0 < ratio["min"] <= ratio["median"] <= ratio["max"]
    # A PPO iteration collects and then trains: slower than the bare rollout.
    assert row["ppo_over_bare"]["max"] < 1.0
    text = rl_throughput._format([row], QUICK, scripts.environment_info())
    assert "GAIL / PPO" in text and "| 8 |" in text
