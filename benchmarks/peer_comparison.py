r"""ilax against the `imitation` library: wall-clock to the same return.

    pip install -e ".[peers]"        # imitation, stable-baselines3, torch (CPU)
    python -m benchmarks.peer_comparison

The same task (Gymnasium's Pendulum-v1; ilax's `gym/Pendulum-v1` has its
dynamics step for step), the same expert (ilax's shipped PPO expert, wrapped
as a stable-baselines3 policy for the peer), the same networks (2 x 100
tanh) and, per method, the same data budget:

- BC on `demos` expert episodes (all their steps), Adam 1e-3, batch 128;
- DAgger with 4 environments per round (a round: one episode in each,
  labelled by the expert, then `dagger_updates` updates on everything so
  far; the first round's data is the expert's own, as in both libraries);
- GAIL with PPO policy steps on the `demos` episodes kept every
  `subsample`-th step; each library with its own defaults otherwise (ilax:
  64 x 64 steps per iteration, 10 x 8 minibatches, gradient penalty 10;
  imitation: its GAIL over stable-baselines3's PPO, 8 environments).

Each method trains in chunks; after each chunk its deterministic policy is
scored on `eval_episodes` episodes (normalized: 0 = uniform random actions,
1 = the expert; evaluation time is not counted). The figure is the training
wall-clock until the first chunk at or above `target`, compile apart (ilax
compiles each program once, before the clock starts; its compile time is
reported beside). Both libraries run in this one process on the same cores.
Without the `imitation` package the ilax half runs alone and says so.

Writes results/peer_comparison_<backend>/ and the BENCHMARKS.md section.
"""

import dataclasses
import time

import jax
from absl import app

from ilax import envs, experts, policies, scripts
from ilax import metrics as metrics_lib
from ilax.algorithms import bc, dagger, gail, registry
from ilax.training import evaluation

TASK = "gym/Pendulum-v1"
NETWORK = dict(hidden_sizes=(100, 100), activation="tanh")
METHODS = ("bc", "dagger", "gail")


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The budgets of every method, in chunks, and the target."""

    methods: tuple[str, ...] = METHODS
    """Methods raced: bc, dagger, gail."""
    target: float = 0.9
    """Normalized return that ends a race."""
    eval_episodes: int = 50
    """Episodes each policy is scored on after each chunk."""
    demos: int = 10
    """Expert episodes (BC's data; GAIL's before subsampling)."""
    subsample: int = 10
    """GAIL keeps every subsample-th expert transition."""
    bc_chunk_updates: int = 500
    """BC updates per chunk."""
    bc_chunks: int = 20
    """BC chunks at most."""
    dagger_updates: int = 500
    """Updates of each DAgger refit."""
    dagger_rounds: int = 10
    """DAgger rounds at most."""
    ilax_gail_chunk: int = 10
    """ilax GAIL iterations (64 x 64 steps) per chunk."""
    ilax_gail_chunks: int = 40
    """ilax GAIL chunks at most."""
    peer_gail_chunk_steps: int = 32768
    """imitation GAIL environment steps per chunk."""
    peer_gail_chunks: int = 15
    """imitation GAIL chunks at most."""
    peers: bool = True
    """Run the imitation library's half when it is installed."""


def race(chunks: int, train_chunk, score, target: float, counts) -> dict:
    """Trains chunk by chunk until `score()` reaches `target`; the curve.

    Args:
      chunks: chunks at most.
      train_chunk: trains one chunk (returns when it is done).
      score: the current policy's normalized return (not timed).
      target: the normalized return that ends the race.
      counts: `chunk index -> {"labels": ..., "env_steps": ...}` after it.
    """
    elapsed, curve = 0.0, []
    for index in range(chunks):
        start = time.perf_counter()
        train_chunk()
        elapsed += time.perf_counter() - start
        curve.append({"train_s": elapsed, "normalized": score(), **counts(index)})
        print(f"  chunk {index + 1}: {curve[-1]}", flush=True)
        if curve[-1]["normalized"] >= target:
            break
    reached = [point for point in curve if point["normalized"] >= target]
    return {
        "curve": curve,
        "reached": bool(reached),
        "time_to_target_s": reached[0]["train_s"] if reached else None,
        "at_target": reached[0] if reached else curve[-1],
    }


class IlaxRace:
    """ilax's registered trainers, one seed, one compiled round per chunk."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.env = envs.make(TASK)
        self.expert = experts.make(self.env)
        episodes = settings.eval_episodes

        def returns(policy, key):
            _, log = evaluation.one_episode_each(self.env, policy, key, episodes)
            return metrics_lib.first_episode(log)["return"].mean()

        key = jax.random.key(settings.seed + 7)
        self.expert_return = float(jax.jit(lambda k: returns(self.expert, k))(key))
        random_policy = policies.uniform_random(*self.env.action_bounds)
        self.random_return = float(jax.jit(lambda k: returns(random_policy, k))(key))
        self.returns = returns

    def normalized(self, value: float) -> float:
        """`value` on the scale random = 0, expert = 1."""
        return (value - self.random_return) / (self.expert_return - self.random_return)

    def trainer(self, method: str):
        """The trainer of `method`, and its rounds per chunk and labels per round."""
        s = self.settings
        learner = bc.BCConfig(learning_rate=1e-3, **NETWORK)
        if method == "bc":
            config = bc.BCTrainConfig(
                learner=learner,
                num_demos=s.demos,
                batch_size=128,
                updates_per_round=s.bc_chunk_updates,
                rounds=s.bc_chunks,
                eval_envs=1,
            )
            return registry.get("bc").make_trainer(config, self.env, self.expert), 1
        if method == "dagger":
            config = dagger.DaggerConfig(
                learner=learner,
                iterations=s.dagger_rounds,
                num_envs=4,
                updates_per_iteration=s.dagger_updates,
                batch_size=128,
                eval_envs=0,
            )
            return dagger.make_trainer(config, self.env, self.expert), 1
        algorithm = registry.get("gail_ppo")
        config = dataclasses.replace(
            algorithm.default_config(),
            iterations=s.ilax_gail_chunk * s.ilax_gail_chunks,
            num_demos=s.demos,
            subsample=s.subsample,
            data_seed=s.seed,
            discriminator=gail.DiscriminatorConfig(gradient_penalty=10.0),
        )
        return algorithm.make_trainer(config, self.env, self.expert), s.ilax_gail_chunk

    def run(self, method: str) -> dict:
        """The race of `method`, with its compile time."""
        trainer, rounds = self.trainer(method)
        state = jax.jit(trainer.init)(jax.random.key(self.settings.seed))
        start = time.perf_counter()
        step = jax.jit(trainer.step).lower(state, trainer.data).compile()
        compile_s = time.perf_counter() - start
        score = jax.jit(lambda state, key: self.returns(trainer.policy(state), key))
        holder = {"state": state, "metrics": {}}

        def train_chunk():
            state = holder["state"]
            for _ in range(rounds):
                state, metrics = step(state, trainer.data)
            holder["state"], holder["metrics"] = jax.block_until_ready((state, metrics))

        def counts(index):
            metrics = holder["metrics"]
            if method == "gail":
                return {"env_steps": float(metrics["env_steps"]), "labels": 0}
            if method == "dagger":
                return {"labels": float(metrics["labels/total"]), "env_steps": 0}
            return {"labels": self.settings.demos * self.env.max_steps, "env_steps": 0}

        def score_now():
            value = float(
                score(holder["state"], jax.random.key(self.settings.seed + 7))
            )
            return self.normalized(value)

        chunks = {
            "bc": self.settings.bc_chunks,
            "dagger": self.settings.dagger_rounds,
            "gail": self.settings.ilax_gail_chunks,
        }[method]
        result = race(chunks, train_chunk, score_now, self.settings.target, counts)
        return {"compile_s": compile_s, **result}


def ratio_line(method: str, ilax_result: dict, peer_result: dict | None) -> dict:
    """One table row: each library's time to target and the ratio."""

    def cell(result):
        if result is None:
            return "-"
        point = result["at_target"]
        used = point["labels"] or point["env_steps"]
        unit = "labels" if point["labels"] else "steps"
        if not result["reached"]:
            return (
                f"not reached in {point['train_s']:.1f} s "
                f"({point['normalized']:.2f}, {used:,.0f} {unit})"
            )
        return f"{result['time_to_target_s']:.2f} s ({used:,.0f} {unit})"

    ratio = with_compile = "-"
    if peer_result is not None and ilax_result["reached"]:
        peer_time = (
            peer_result["time_to_target_s"]
            if peer_result["reached"]
            else peer_result["at_target"]["train_s"]
        )
        bound = "" if peer_result["reached"] else ">= "
        ilax_time = ilax_result["time_to_target_s"]
        ratio = f"{bound}{peer_time / ilax_time:.1f}x"
        compiled = ilax_time + ilax_result["compile_s"]
        with_compile = f"{bound}{peer_time / compiled:.1f}x"
    return {
        "method": method,
        "ilax": cell(ilax_result),
        "ilax compile s": f"{ilax_result['compile_s']:.1f}",
        "imitation": cell(peer_result),
        "imitation / ilax": ratio,
        "counting ilax's compile": with_compile,
    }


def main(argv):
    """Races every method in both libraries; writes the table."""
    del argv
    settings, out_dir, benchmarks_md = scripts.parsed()
    scripts.check_choices(settings, "methods", METHODS)
    scripts.setup_jax()
    info = scripts.environment_info()
    ilax_side = IlaxRace(settings)
    peer_side = None
    if settings.peers:
        try:
            from benchmarks import imitation_peer
        except ImportError as error:
            print(f"imitation library not installed ({error}); ilax alone", flush=True)
        else:
            peer_side = imitation_peer.PeerRace(settings, ilax_side)
            info["peer_versions"] = imitation_peer.versions()
    record = {
        "benchmark": "peer_comparison",
        "environment": info,
        "settings": dataclasses.asdict(settings),
        "expert_return": ilax_side.expert_return,
        "random_return": ilax_side.random_return,
        "ilax": {},
        "imitation": {},
    }
    rows = []
    for method in settings.methods:
        print(f"ilax {method}", flush=True)
        record["ilax"][method] = ilax_side.run(method)
        if peer_side is not None:
            print(f"imitation {method}", flush=True)
            record["imitation"][method] = peer_side.run(method)
        rows.append(
            ratio_line(method, record["ilax"][method], record["imitation"].get(method))
        )
    peer_note = (
        f"peer: {info['peer_versions']}"
        if peer_side is not None
        else "the imitation library was not installed: ilax alone"
    )
    markdown = "\n".join(
        [
            f"`{TASK}`, one seed per library, normalized return >= "
            f"{settings.target} (expert {ilax_side.expert_return:.1f} = 1, random "
            f"{ilax_side.random_return:.1f} = 0, {settings.eval_episodes} episodes "
            "after each chunk, not timed); training wall-clock to the first chunk "
            "at the target, compile apart (the last column adds ilax's compile, "
            "with a cold persistent cache, to its time); 2 x 100 tanh networks; "
            f"{peer_note}. `>=` where the peer did not reach the target within "
            "its budget (the ratio is then a lower bound).",
            "",
            metrics_lib.markdown_table(rows),
            "",
            f"Hardware: {scripts.hardware_line(info)}.",
        ]
    )
    scripts.publish(
        "peer_comparison",
        "ilax against the imitation library",
        record,
        markdown,
        out_dir=out_dir,
        benchmarks_md=benchmarks_md,
    )


if __name__ == "__main__":
    scripts.define_flags("peer_comparison", Settings(), benchmark=True)
    app.run(main)
