"""The plumbing every script shares: settings flags, result files, timing."""

import dataclasses
import json
import math
import subprocess
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import policies, scripts, timing
from ilax.scripts import flags as script_flags
from ilax.scripts import provenance, results
from ilax.types import Observation


@dataclasses.dataclass(kw_only=True)
class Inner:
    rate: float = 0.1


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    tasks: tuple[str, ...] = ("a", "b")
    sizes: tuple[int, ...] = (1, 2)
    inner: Inner = dataclasses.field(default_factory=Inner)


def test_unknown_overrides_are_refused_in_one_line_naming_the_fields():
    script_flags.check_overrides(Settings(), ["prog", "--settings.seeds=4"])
    script_flags.check_overrides(Settings(), ["prog", "--settings.inner.rate=1"])
    script_flags.check_overrides(Settings(), ["prog", "--other.nope=1"])
    with pytest.raises(SystemExit, match=r"settings has no field 'sead'; its "):
        script_flags.check_overrides(Settings(), ["prog", "--settings.sead=4"])
    with pytest.raises(SystemExit, match=r"settings.inner has no field 'rat'.*rate"):
        script_flags.check_overrides(Settings(), ["prog", "--settings.inner.rat=1"])


def test_tuple_settings_read_comma_lists_and_empty_values():
    parsed = script_flags._normalized(
        dataclasses.replace(Settings(), tasks=("x,y",), sizes=("",))
    )
    assert parsed.tasks == ("x", "y") and parsed.sizes == ()
    with pytest.raises(SystemExit, match=r"--settings.tasks: unknown 'x'; choose"):
        scripts.check_choices(parsed, "tasks", ("y", "z"))
    scripts.check_choices(parsed, "tasks", ("x", "y"))


class Pair(NamedTuple):
    left: float
    right: np.ndarray


def test_records_become_plain_json():
    record = {
        "settings": Settings(),
        "pair": Pair(1.5, np.arange(3)),
        "values": jnp.array([1.0, jnp.nan, jnp.inf]),
        "scalar": np.float32(2.0),
        "count": np.int64(3),
        "flag": np.bool_(True),
    }
    plain = results.to_json(record)
    assert plain["settings"]["tasks"] == ["a", "b"]
    assert plain["settings"]["inner"] == {"rate": 0.1}
    assert plain["pair"] == {"left": 1.5, "right": [0, 1, 2]}
    assert plain["values"] == [1.0, None, None]  # NaN and inf are not JSON
    assert plain["scalar"] == 2.0 and plain["count"] == 3 and plain["flag"] is True
    json.dumps(plain, allow_nan=False)


def test_result_files_are_written_whole_and_stale_tables_removed(tmp_path):
    rows = [{"arm": "a_b", "success": 0.5}]
    out = results.write(tmp_path, {"x": 1}, "# table", tables={"caption": rows})
    assert json.loads((out / "results.json").read_text()) == {"x": 1}
    assert (out / "results.md").read_text() == "# table\n"
    tex = (out / "results.tex").read_text()
    assert r"a\_b & 0.50 \\" in tex and tex.startswith("% caption")
    results.write(tmp_path, {"x": 2}, "# again")  # no tables now
    assert not (out / "results.tex").exists()
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "results.md"]
    assert results.read(out) == {"x": 2} and results.read(tmp_path / "none") is None


def test_benchmarks_md_sections_are_replaced_or_appended(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nintro\n")
    results.update_benchmarks_md("a", "first", path)
    results.update_benchmarks_md("b", "second", path)
    results.update_benchmarks_md("a", "third", path)
    text = path.read_text()
    assert "first" not in text and text.index("third") < text.index("second")
    assert text.startswith("# Benchmarks\n\nintro\n")


def test_paired_timing_reports_compile_apart_and_consistent_ratios():
    fast = jax.jit(lambda x: x + 1.0)
    slow = jax.jit(lambda x: jnp.sum(jnp.sin(x) @ jnp.cos(x).T))
    timed = timing.time_paired(
        {"fast": fast, "slow": slow},
        lambda i: (jnp.full((256, 256), float(i)),),
        min_calls=5,
        min_time_s=0.0,
    )
    for name in ("fast", "slow"):
        row = timed[name]
        assert row["calls"] == 5 == len(row["times"]) and row["compile_s"] > 0
        assert row["run_min_s"] <= row["run_s"]
    ratio = timing.paired_ratio({n: timed[n]["times"] for n in timed}, "slow", "fast")
    assert timed["fast"]["ratio_to_slow"] == pytest.approx(ratio)
    result, compile_s, run_s = timing.compile_and_run(fast, jnp.ones(3))
    np.testing.assert_array_equal(result, 2.0)
    assert compile_s > 0 and run_s > 0


def test_policy_latency_is_a_positive_time_per_step():
    policy = policies.stateless(lambda obs, key: jnp.tanh(obs.obs[:1]))
    observation = Observation(jnp.zeros((1, 3)), jnp.zeros((1, 3)))
    seconds = timing.policy_step_latency_s(policy, observation, steps=4)
    assert math.isfinite(seconds) and 0 < seconds < 1


def test_the_recorded_commit_says_when_tracked_files_were_changed(
    tmp_path, monkeypatch
):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    monkeypatch.chdir(tmp_path)
    clean = provenance._git_commit()
    assert len(clean) >= 7 and "+" not in clean
    (tmp_path / "new.txt").write_text("untracked files do not count\n")
    assert provenance._git_commit() == clean
    (tmp_path / "a.txt").write_text("two\n")
    assert provenance._git_commit() == clean + "+dirty"
