r"""Command line: train a registered algorithm on a task, resume it, evaluate it.

    python -m ilax.train --algo=bc --task=pendulum --workdir=runs/x \
        --config.learner.learning_rate=3e-4 --config.rounds=20 --seeds=4
    python -m ilax.train eval --workdir=runs/x

The work directory holds `run.json` (algorithm, task, seeds and config),
`metrics.jsonl` (one record per round) and `checkpoints/`. Training again in
the same directory resumes from the latest checkpoint, with the stored
algorithm, task, seeds and config as defaults (a larger `--config.rounds`
lengthens an offline run; other config changes are refused).
`eval` restores the latest checkpoint, evaluates every seed, prints the
result and writes `eval.json`; of the config only the evaluation's own
fields (`--config.eval_envs`, `--config.eval_steps`) may differ from the
run's, any other override is refused, naming it. A work directory whose
checkpoints are all unreadable is not trained again from round 1 without
`--restart` (which keeps the old metrics beside the new ones).
Errors in flags, configs, data and checkpoints end the command with one
line naming the field.
"""

import json
import os
import pathlib
import sys
from typing import Any

from ilax import platform

platform.use_safe_cpu_flags()  # before JAX starts its backend

import jax  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

import ilax  # noqa: E402
from ilax import config as config_lib  # noqa: E402
from ilax import envs, experts  # noqa: E402
from ilax.algorithms import registry  # noqa: E402
from ilax.scripts import flags as script_flags  # noqa: E402
from ilax.training import checkpoints, loop  # noqa: E402

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
EVAL_FILE = "eval.json"
CHECKPOINT_DIR = "checkpoints"
COMMANDS = ("train", "eval")
# Config fields `eval` may change: they say how to evaluate, not what was trained.
EVAL_FIELDS = ("eval_envs", "eval_steps")
FLAGS = flags.FLAGS


def _preparse(name: str, argv: list[str]) -> str | None:
    """The value of `--name=value` or `--name value` in `argv`, if present."""
    for index, arg in enumerate(argv):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def _stored_run(workdir: str | None) -> dict[str, Any] | None:
    if not workdir:
        return None
    path = pathlib.Path(workdir) / RUN_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SystemExit(f"{path}: unreadable ({error})") from error


def define_flags(argv: list[str]) -> None:
    """Defines the flags; the config flag's type depends on the algorithm.

    The algorithm (and, in an existing work directory, the stored run) must
    be known before `--config` is defined, so they are read from `argv` here.
    """
    stored = _stored_run(_preparse("workdir", argv))
    algo = _preparse("algo", argv) or (stored or {}).get("algo", "bc")
    if algo not in registry.names():
        raise SystemExit(
            f"unknown --algo={algo!r}; known algorithms: {', '.join(registry.names())}"
        )
    config = registry.default_config(algo)
    if stored is not None and stored.get("algo") == algo:
        config = config_lib.from_dict(registry.get(algo).config_class, stored["config"])
    script_flags.check_overrides(config, argv, prefix="config")
    stored = stored or {}
    flags.DEFINE_enum("algo", algo, registry.names(), "Algorithm to train.")
    flags.DEFINE_enum(
        "task", stored.get("task", "pendulum"), envs.names(), "Task to train on."
    )
    flags.DEFINE_string("workdir", None, "Run directory.", required=True)
    flags.DEFINE_integer("seeds", stored.get("seeds", 1), "Seeds, run as one vmap.")
    flags.DEFINE_integer("seed", stored.get("seed", 0), "Seed of the run key.")
    flags.DEFINE_integer("eval_every", 5, "Evaluate every this many rounds; 0: never.")
    flags.DEFINE_integer("save_every", 1, "Checkpoint every this many rounds.")
    flags.DEFINE_integer("keep", 3, "Checkpoints kept.")
    flags.DEFINE_bool("progress", True, "Show a progress bar.")
    flags.DEFINE_bool("tensorboard", False, "Also write <workdir>/tensorboard.")
    flags.DEFINE_bool(
        "restart",
        False,
        "Train from round 1 although the workdir holds metrics or corrupt "
        "checkpoints and no readable checkpoint (old metrics are kept aside).",
    )
    config_flags.DEFINE_config_dataclass("config", config, "Algorithm config.")


def _check_same_run(workdir: pathlib.Path, stored: dict | None) -> None:
    for name in ("algo", "task"):
        if stored is not None and stored[name] != getattr(FLAGS, name):
            raise SystemExit(
                f"error: {workdir} holds a run with --{name}={stored[name]}; got "
                f"--{name}={getattr(FLAGS, name)} (use another --workdir)"
            )


def _check_same_config(workdir: pathlib.Path, stored: dict) -> None:
    """Refuses an eval config that differs from the run's beyond EVAL_FIELDS."""
    changed = checkpoints.differences(
        stored["config"], checkpoints.info_json(FLAGS.config), ignore=EVAL_FIELDS
    )
    if changed:
        fields = "; ".join(
            "config."
            + line.replace("checkpoint has", "the run has").replace(
                "this run has", "eval got"
            )
            for line in changed
        )
        raise SystemExit(
            f"error: eval of {workdir} evaluates the run's own config; only "
            f"{', '.join(EVAL_FIELDS)} may change: {fields}"
        )


def _write_json(path: pathlib.Path, value: Any) -> None:
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(staging, path)


def _build():
    """The trainer, the run's config as JSON, and the task's config as built.

    The task's config carries its physics backend resolved (`impl="auto"`
    becomes "c" on CPU for some tasks, "jax" elsewhere), so a run resumed
    on another backend is refused naming `env_config` instead of failing on
    the state's layout.
    """
    env = envs.make(FLAGS.task)
    expert = experts.make(env) if registry.get(FLAGS.algo).needs_expert else None
    config = FLAGS.config
    trainer = registry.make_trainer(FLAGS.algo, config, env, expert)
    env_config = checkpoints.info_json(getattr(env.unwrapped, "config", None))
    return trainer, checkpoints.info_json(config), env_config


def train_command(workdir: pathlib.Path) -> None:
    """Trains (or resumes) the run in `workdir`."""
    stored = _stored_run(str(workdir))
    _check_same_run(workdir, stored)
    # Checked before anything is written: a refused command leaves no run.json.
    loop.check_settings(
        num_seeds=FLAGS.seeds, save_every=FLAGS.save_every, eval_every=FLAGS.eval_every
    )
    trainer, config, env_config = _build()
    workdir.mkdir(parents=True, exist_ok=True)
    run = {
        "algo": FLAGS.algo,
        "task": FLAGS.task,
        "seed": FLAGS.seed,
        "seeds": FLAGS.seeds,
        "ilax_version": ilax.__version__,
        "config": config,
    }
    if stored is None:
        _write_json(workdir / RUN_FILE, run)
    _, history = loop.run(
        trainer,
        key=jax.random.key(FLAGS.seed),
        num_seeds=FLAGS.seeds,
        eval_every=FLAGS.eval_every,
        checkpoint_dir=workdir / CHECKPOINT_DIR,
        save_every=FLAGS.save_every,
        max_to_keep=FLAGS.keep,
        run_info={
            "algo": FLAGS.algo,
            "task": FLAGS.task,
            "config": config,
            "env_config": env_config,
        },
        metrics_path=workdir / METRICS_FILE,
        progress=FLAGS.progress,
        tensorboard_dir=str(workdir / "tensorboard") if FLAGS.tensorboard else None,
        restart=FLAGS.restart,
    )
    _write_json(workdir / RUN_FILE, run)  # a lengthened run keeps its length
    if history:
        last = history[-1]
        logging.info("finished round %d: %s", last["round"], last["metrics"])


def eval_command(workdir: pathlib.Path) -> None:
    """Evaluates the latest checkpoint of the run in `workdir`."""
    stored = _stored_run(str(workdir))
    if stored is None:
        raise SystemExit(f"error: {workdir} holds no run ({RUN_FILE} missing)")
    _check_same_run(workdir, stored)
    _check_same_config(workdir, stored)
    trainer, _, _ = _build()
    key = jax.random.key(FLAGS.seed)
    state, completed = loop.restore(
        trainer, workdir / CHECKPOINT_DIR, key=key, num_seeds=FLAGS.seeds
    )
    means, per_seed = loop.evaluate(trainer, state, key=key, round_number=completed)
    result = {"round": completed, "metrics": means, "per_seed": per_seed}
    _write_json(workdir / EVAL_FILE, result)
    print(json.dumps(result, indent=2))


def main(argv: list[str]) -> None:
    """Dispatches `train` (the default) or `eval`."""
    commands = argv[1:] or ["train"]
    if len(commands) != 1 or commands[0] not in COMMANDS:
        raise app.UsageError(
            f"expected one command of {', '.join(COMMANDS)}; got {' '.join(commands)}"
        )
    platform.use_compilation_cache()
    workdir = pathlib.Path(FLAGS.workdir)
    try:
        if commands[0] == "train":
            train_command(workdir)
        else:
            eval_command(workdir)
    except (checkpoints.CheckpointError, loop.NonFiniteError, ValueError) as error:
        # The message names the field and says what to do; a traceback would
        # bury it (`--verbosity=1` logs it). ValueError is every config, data
        # and shape check's type; a list of differences becomes one line.
        logging.debug("the error's traceback", exc_info=True)
        raise SystemExit(f"error: {_one_line(str(error))}") from error


def _one_line(message: str) -> str:
    """A message's lines joined: a list after "...:" becomes "...: a; b"."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else ""
    for line in lines[1:]:
        text += (" " if text.endswith(":") else "; ") + line
    return text


def run(argv: list[str] | None = None) -> None:
    """The entry point: defines the flags for `argv`, then runs `main`."""
    argv = sys.argv if argv is None else argv
    define_flags(argv)
    app.run(main, argv=argv)


if __name__ == "__main__":
    run()
