"""The `imitation` library's half of `benchmarks.peer_comparison`.

Imported only when the optional `[peers]` extra is installed (imitation,
stable-baselines3, torch); nothing else in ilax needs it. The peer runs
Gymnasium's own Pendulum-v1 through stable-baselines3's vector
environments, with ilax's expert wrapped as a stable-baselines3 policy, and
its policies are scored on the same normalized scale as ilax's.
"""

import tempfile
from importlib import metadata

import jax
import numpy as np
import torch
from imitation.algorithms import bc
from imitation.algorithms.adversarial import gail
from imitation.algorithms.dagger import SimpleDAggerTrainer
from imitation.data import rollout
from imitation.data import types as imitation_types
from imitation.data.wrappers import RolloutInfoWrapper
from imitation.rewards.reward_nets import BasicRewardNet
from imitation.util import logger as imitation_logger
from imitation.util.networks import RunningNorm
from imitation.util.util import make_vec_env
from stable_baselines3 import PPO
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy

from benchmarks import peer_comparison
from ilax import data as data_lib
from ilax.algorithms.gail import adversarial
from ilax.types import Observation

GYM_ID = "Pendulum-v1"
POLICY_KWARGS = dict(net_arch=[100, 100], activation_fn=torch.nn.Tanh)


def versions() -> str:
    """The peer's package versions, one line."""
    names = ("imitation", "stable-baselines3", "torch", "gymnasium")
    return ", ".join(f"{name} {metadata.version(name)}" for name in names)


class IlaxExpert(BasePolicy):
    """An ilax policy (deterministic, reading `obs`) as a stable-baselines3 policy."""

    def __init__(self, policy, observation_space, action_space):
        super().__init__(observation_space, action_space)

        def act(obs):
            action, _, _ = policy.step((), Observation(obs, obs), jax.random.key(0))
            return action

        self._act = jax.jit(act)

    def _predict(self, observation, deterministic=False):
        obs = np.asarray(observation.detach().cpu().numpy(), np.float32)
        return torch.from_numpy(np.array(self._act(obs)))


class PeerRace:
    """BC, DAgger and GAIL of the imitation library, chunk by chunk."""

    def __init__(self, settings, ilax_side):
        self.settings = settings
        self.ilax_side = ilax_side
        self.rng = np.random.default_rng(settings.seed)
        torch.manual_seed(settings.seed)
        # The peer's logs go to a CSV file, not the terminal.
        self.logger = imitation_logger.configure(
            tempfile.mkdtemp(prefix="ilax_peer_logs_"), format_strs=["csv"]
        )
        self.eval_venv = self.venv(10)
        space = self.eval_venv
        self.expert = IlaxExpert(
            ilax_side.expert, space.observation_space, space.action_space
        )

    def venv(self, n_envs: int):
        """Gymnasium's Pendulum-v1 as the peer's vector environment."""
        return make_vec_env(
            GYM_ID,
            rng=self.rng,
            n_envs=n_envs,
            post_wrappers=[lambda env, _: RolloutInfoWrapper(env)],
        )

    def score(self, policy) -> float:
        """Normalized mean return of `policy` (deterministic) over the eval episodes."""
        episodes = self.settings.eval_episodes
        trajectories = rollout.rollout(
            policy,
            self.eval_venv,
            rollout.make_sample_until(min_timesteps=None, min_episodes=episodes),
            rng=self.rng,
            deterministic_policy=True,
        )
        value = float(np.mean([np.sum(t.rews) for t in trajectories[:episodes]]))
        return self.ilax_side.normalized(value)

    def bc_trainer(self, venv, demonstrations=None):
        """The peer's BC with the shared network and optimizer settings."""
        policy = ActorCriticPolicy(
            venv.observation_space,
            venv.action_space,
            lr_schedule=lambda _: 1e-3,
            **POLICY_KWARGS,
        )
        return bc.BC(
            observation_space=venv.observation_space,
            action_space=venv.action_space,
            rng=self.rng,
            policy=policy,
            demonstrations=demonstrations,
            batch_size=128,
            optimizer_kwargs={"lr": 1e-3},
            custom_logger=self.logger,
        )

    def run(self, method: str) -> dict:
        """The race of `method` (no compile step: reported as 0)."""
        race = {"bc": self.race_bc, "dagger": self.race_dagger, "gail": self.race_gail}
        return {"compile_s": 0.0, **race[method]()}

    def race_bc(self) -> dict:
        s = self.settings
        trajectories = rollout.rollout(
            self.expert,
            self.venv(s.demos),
            rollout.make_sample_until(min_timesteps=None, min_episodes=s.demos),
            rng=self.rng,
            deterministic_policy=True,
        )[: s.demos]
        labels = sum(len(t) for t in trajectories)
        trainer = self.bc_trainer(
            self.eval_venv, rollout.flatten_trajectories(trajectories)
        )

        def train_chunk():
            trainer.train(
                n_batches=s.bc_chunk_updates, progress_bar=False, log_interval=10**9
            )

        return peer_comparison.race(
            s.bc_chunks,
            train_chunk,
            lambda: self.score(trainer.policy),
            s.target,
            lambda index: {"labels": labels, "env_steps": 0},
        )

    def race_dagger(self) -> dict:
        s = self.settings
        venv = self.venv(4)
        steps = 4 * 200
        scratch = tempfile.mkdtemp(prefix="ilax_peer_dagger_")
        trainer = SimpleDAggerTrainer(
            venv=venv,
            scratch_dir=scratch,
            expert_policy=self.expert,
            bc_trainer=self.bc_trainer(venv),
            rng=self.rng,
            # The expert drives the first round only, as ilax's DAgger.
            beta_schedule=lambda round_num: 1.0 if round_num == 0 else 0.0,
            custom_logger=self.logger,
        )
        fit = {
            "n_batches": s.dagger_updates,
            "progress_bar": False,
            "log_interval": 10**9,
            "log_rollouts_venv": None,
        }

        def train_chunk():
            trainer.train(
                steps,
                rollout_round_min_episodes=4,
                rollout_round_min_timesteps=steps,
                bc_train_kwargs=fit,
            )

        return peer_comparison.race(
            s.dagger_rounds,
            train_chunk,
            lambda: self.score(trainer.policy),
            s.target,
            lambda index: {"labels": (index + 1) * steps, "env_steps": 0},
        )

    def demonstrations(self):
        """Ilax's subsampled expert transitions, in the peer's type."""
        s = self.settings
        env = self.ilax_side.env
        dataset = data_lib.collect(
            env, self.ilax_side.expert, jax.random.key(s.seed), s.demos
        )
        rows = adversarial.subsampled_transitions(dataset, s.subsample, s.seed)
        count = rows.obs.shape[0]
        return imitation_types.Transitions(
            obs=np.asarray(rows.obs),
            acts=np.asarray(rows.action),
            infos=np.array([{}] * count),
            next_obs=np.asarray(rows.next_obs),
            dones=np.zeros(count, bool),
        )

    def race_gail(self) -> dict:
        s = self.settings
        venv = self.venv(8)
        # PPO as ilax's GAIL arm runs it: 4,096 steps per round, 10 epochs of
        # 8 minibatches, gamma 0.995, GAE lambda 0.97, 2 x 100 tanh.
        learner = PPO(
            "MlpPolicy",
            venv,
            n_steps=512,
            batch_size=512,
            n_epochs=10,
            gamma=0.995,
            gae_lambda=0.97,
            policy_kwargs=POLICY_KWARGS,
            seed=s.seed,
        )
        reward_net = BasicRewardNet(
            venv.observation_space,
            venv.action_space,
            normalize_input_layer=RunningNorm,
        )
        trainer = gail.GAIL(
            demonstrations=self.demonstrations(),
            demo_batch_size=128,
            n_disc_updates_per_round=4,
            venv=venv,
            gen_algo=learner,
            reward_net=reward_net,
            custom_logger=self.logger,
        )

        def train_chunk():
            trainer.train(s.peer_gail_chunk_steps)

        return peer_comparison.race(
            s.peer_gail_chunks,
            train_chunk,
            lambda: self.score(learner.policy),
            s.target,
            lambda index: {
                "env_steps": (index + 1) * s.peer_gail_chunk_steps,
                "labels": 0,
            },
        )
