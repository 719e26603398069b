"""The command line: flag pre-parsing, config round trips, train then eval."""

import json
import os
import subprocess
import sys

import jax
import pytest

from ilax import config as config_lib
from ilax import train as cli
from ilax.algorithms.bc import BCConfig, BCTrainConfig
from ilax.training import checkpoints
from tests.training.test_loop import ROOT, read_jsonl

# PPO's CLI task: one without an expert would prove none is built.
PPO_TASK = "pendulum"


def run_cli(*args, timeout=600):
    env = dict(os.environ)
    env["ILAX_JAX_CACHE"] = jax.config.jax_compilation_cache_dir
    return subprocess.run(
        [sys.executable, "-m", "ilax.train", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_preparse_reads_both_flag_spellings():
    argv = ["prog", "eval", "--algo=dagger", "--workdir", "runs/x"]
    assert cli._preparse("algo", argv) == "dagger"
    assert cli._preparse("workdir", argv) == "runs/x"
    assert cli._preparse("task", argv) is None


def test_config_survives_its_json_form():
    config = BCTrainConfig(
        learner=BCConfig(hidden_sizes=(8, 4), learning_rate=3e-4), rounds=7
    )
    stored = json.loads(json.dumps(checkpoints.info_json(config)))
    assert stored["learner"]["hidden_sizes"] == [8, 4]
    assert config_lib.from_dict(BCTrainConfig, stored) == config


def test_unknown_algorithm_lists_the_known_ones(tmp_path):
    result = run_cli("--algo=nope", f"--workdir={tmp_path}", timeout=120)
    assert result.returncode != 0
    assert "unknown --algo='nope'; known algorithms: " in result.stderr
    listed = result.stderr.split("known algorithms: ")[1].split()
    listed = [name.strip(",") for name in listed]
    assert {"bc", "dagger", "dart", "diffusion", "cvae", "gan", "act"} <= set(listed)


@pytest.mark.slow  # about 60 s on 2 busy cores: two processes, pendulum compiles
def test_train_then_eval_on_pendulum(tmp_path):
    workdir = tmp_path / "run"
    tiny = [
        "--algo=bc",
        "--task=pendulum",
        f"--workdir={workdir}",
        "--seeds=2",
        "--eval_every=2",
        "--progress=false",
        "--config.num_demos=4",
        "--config.batch_size=32",
        "--config.updates_per_round=20",
        "--config.rounds=2",
        "--config.eval_envs=2",
        "--config.learner.hidden_sizes=(16,)",
        "--config.learner.learning_rate=3e-4",
    ]
    result = run_cli(*tiny)
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads((workdir / "run.json").read_text())
    assert run["seeds"] == 2 and run["task"] == "pendulum"
    assert run["config"]["learner"]["learning_rate"] == 3e-4  # nested override
    assert run["config"]["learner"]["hidden_sizes"] == [16]
    records = read_jsonl(workdir / "metrics.jsonl")
    assert [r["round"] for r in records] == [1, 2]
    assert sorted(os.listdir(workdir / "checkpoints")) == ["1", "2"]
    # The checkpoint's description holds the task's config as built, its
    # physics backend resolved ("auto" is never stored), so a resume on
    # another backend is refused naming env_config.
    meta = json.loads((workdir / "checkpoints" / "2" / "meta" / "metadata").read_text())
    assert meta["info"]["env_config"]["impl"] == "jax"

    result = run_cli("eval", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr[-3000:]
    evaluation = json.loads((workdir / "eval.json").read_text())
    # mujoco prints import notices to stdout first; the JSON comes last.
    assert json.loads(result.stdout[result.stdout.index("{\n") :]) == evaluation
    assert evaluation["round"] == 2
    # Same checkpoint, same derived keys: eval repeats the logged evaluation.
    assert evaluation["per_seed"] == {
        name: values
        for name, values in records[-1]["per_seed"].items()
        if name.startswith("eval/")
    }

    result = run_cli(f"--workdir={workdir}", "--config.learner.learning_rate=1e-3")
    assert result.returncode != 0
    assert "config.learner.learning_rate: checkpoint has 0.0003" in result.stderr


def define_in_a_subprocess(*argv, workdir):
    program = (
        "import sys\n"
        "from ilax import train\n"
        f"argv = ['prog', '--workdir={workdir}', *{list(argv)!r}]\n"
        "train.define_flags(argv)\n"
        "train.FLAGS(argv)\n"
        "print(train.FLAGS.algo, train.FLAGS.seeds, train.FLAGS.config.rounds,\n"
        "      train.FLAGS.config.learner.hidden_sizes)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_a_stored_run_gives_the_flags_their_defaults(tmp_path):
    config = BCTrainConfig(learner=BCConfig(hidden_sizes=(8, 4)), rounds=7)
    run = {"algo": "bc", "task": "pendulum", "seed": 0, "seeds": 3}
    run["config"] = checkpoints.info_json(config)
    (tmp_path / "run.json").write_text(json.dumps(run))
    result = define_in_a_subprocess(workdir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("bc 3 7 (8, 4)"), result.stdout
    # An override of no field is refused in one line naming the valid ones.
    result = define_in_a_subprocess("--config.learner.widths=3", workdir=tmp_path)
    assert result.returncode != 0
    assert "config.learner has no field 'widths'; its fields: " in result.stderr
    assert "hidden_sizes" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow  # about 18 s: two processes, each compiling PPO
def test_ppo_trains_and_evaluates_without_an_expert(tmp_path):
    # An on-policy run checkpoints its environments mid-episode (MJX data,
    # arrays without elements among them) and eval restores them.
    workdir = tmp_path / "ppo"
    tiny = [
        "--algo=ppo",
        f"--task={PPO_TASK}",
        f"--workdir={workdir}",
        "--eval_every=2",
        "--progress=false",
        "--config.iterations=2",
        "--config.num_envs=4",
        "--config.unroll_length=8",
        "--config.eval_envs=2",  # whole episodes: eval_steps is the task's
        "--config.learner.hidden_sizes=(8,)",
        "--config.learner.num_minibatches=2",
        "--config.learner.epochs=2",
    ]
    result = run_cli(*tiny)
    assert result.returncode == 0, result.stderr[-3000:]
    records = read_jsonl(workdir / "metrics.jsonl")
    assert [r["round"] for r in records] == [1, 2]
    assert records[-1]["metrics"]["env_steps"] == 64.0
    result = run_cli("eval", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr[-3000:]
    evaluation = json.loads((workdir / "eval.json").read_text())
    assert evaluation["metrics"]["eval/num_episodes"] == 2.0
    assert evaluation["metrics"]["eval/return"] == pytest.approx(
        records[-1]["metrics"]["eval/return"]
    )
