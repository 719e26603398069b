"""The policy families the latency benchmarks time, as typed train configs.

Each `Family` is a registered algorithm's train config (its learner and its
chunks) and, optionally, the family whose parameters it samples with, so
two samplers can be compared on one network. `build` gives every family's
jitted policy step on untrained parameters: the programs do the same
arithmetic whatever the weights hold.
"""

from typing import NamedTuple

import jax

from ilax.algorithms import act, bc, diffusion, gan, registry, vae
from ilax.chunking import ChunkConfig
from ilax.training import offline
from ilax.types import Batch, Observation


class Family(NamedTuple):
    """A policy family: the train config whose learner acts, and its params.

    `params_from` names another family whose (untrained) train state this
    one samples with, so two samplers can be compared on the same network.
    """

    name: str
    config: offline.OfflineTrainConfig
    params_from: str | None = None

    @property
    def chunk(self) -> ChunkConfig:
        return self.config.chunk

    @property
    def executed(self) -> int:
        """Actions executed per call (1 when ensembling predicts every step)."""
        chunk = self.chunk
        return 1 if chunk.temporal_ensembling else chunk.action_horizon

    def network(self) -> str:
        """The network's shape, for the table."""
        learner = self.config.learner
        if (
            isinstance(learner, diffusion.DiffusionConfig)
            and learner.denoiser == "unet"
        ):
            return "U-Net " + "/".join(str(w) for w in learner.down_sizes)
        if isinstance(learner, act.ACTConfig):
            return (
                f"transformer d{learner.model_size} "
                f"{learner.encoder_layers}+{learner.decoder_layers} layers"
            )
        return "MLP " + "x".join(str(w) for w in learner.hidden_sizes)


# Diffusion Policy's horizons (To, Tp, Ta) = (2, 16, 8): one call samples a
# 16-step chunk from two observations, eight of which are executed.
_DP = ChunkConfig(obs_horizon=2, prediction_horizon=16, action_horizon=8)
_DDIM = dict(sampler="ddim", ddim_steps=10)
FAMILIES = (
    Family("BC-MSE", bc.BCTrainConfig(learner=bc.BCConfig(loss="mse"))),
    Family("BC-GMM", bc.BCTrainConfig(learner=bc.BCConfig(loss="gmm"))),
    Family("DDPM-100", diffusion.DiffusionTrainConfig()),
    Family(
        "DDIM-10",
        diffusion.DiffusionTrainConfig(learner=diffusion.DiffusionConfig(**_DDIM)),
        params_from="DDPM-100",
    ),
    Family("CVAE", vae.CVAETrainConfig()),
    Family("GAN", gan.GANTrainConfig()),
    Family(
        "DP U-Net DDPM-100",
        diffusion.DiffusionTrainConfig(
            learner=diffusion.DiffusionConfig(denoiser="unet"), chunk=_DP
        ),
    ),
    Family(
        "DP U-Net DDIM-10",
        diffusion.DiffusionTrainConfig(
            learner=diffusion.DiffusionConfig(denoiser="unet", **_DDIM), chunk=_DP
        ),
        params_from="DP U-Net DDPM-100",
    ),
    # ACT with temporal ensembling predicts a chunk of k = 20 every step.
    Family("ACT k=20 ensembling", act.ACTTrainConfig()),
)


def input_sizes(family: Family, env) -> tuple[int, int]:
    """The widths of what the family's network reads and writes per call."""
    chunk = family.chunk
    return (
        chunk.obs_horizon * env.observation_size,
        chunk.prediction_horizon * env.action_size,
    )


def build(families, env):
    """Each family's jitted `(state, obs, key) -> action` and untrained state.

    Returns:
      `(programs, states)`: dicts by family name.
    """
    programs, states = {}, {}
    for family in families:
        obs_size, chunk_size = input_sizes(family, env)
        data = Batch(
            obs=jax.random.normal(jax.random.key(1), (256, obs_size)),
            privileged=jax.random.normal(jax.random.key(2), (256, obs_size)),
            action=jax.random.normal(jax.random.key(3), (256, chunk_size)),
        )
        learner = registry.of_config(family.config).make_learner(family.config, env)
        if family.params_from is None:
            normalizer = learner.fit_normalizer(data)
            states[family.name] = learner.init(jax.random.key(0), normalizer)
        else:
            states[family.name] = states[family.params_from]

        def program(state, obs, key, learner=learner):
            policy = learner.make_policy(state)
            # Students read `obs`; `privileged` is only there to fill the tuple.
            action, _, _ = policy.step((), Observation(obs, obs), key)
            return action

        programs[family.name] = jax.jit(program)
    return programs, states
