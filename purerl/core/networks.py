"""The network fields every learner with a network shares, declared and validated once.

`TorsoConfig` is a base of `onpolicy.RolloutConfig`, `offpolicy.ReplayConfig` and the
imitation `PolicyConfig`: `torso` ("auto" | "mlp" | "cnn") and the CNN's layers. An
algorithm builds its networks with `net_kwargs(config, env, env_params)`, which checks the
choice against the env and returns the `obs_ndim` and `torso` fields of a `purerl.nets`
network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax

from purerl import envs
from purerl.core import validation as V
from purerl.nets import TORSOS, ActorCritic, RecurrentActorCritic, TorsoSpec
from purerl.types import ACTION_MASK


@dataclasses.dataclass(frozen=True)
class TorsoConfig(V.ConfigBase):
    """Torso fields shared by every Config with a network (validated by `check_torso`)."""

    torso: str = "auto"  # "mlp" | "cnn" | "auto" (the CNN for rank-3 (H, W, C) observations)
    cnn_channels: Sequence[int] = (16,)  # conv layers' output channels (CNN torso)
    cnn_kernels: Sequence[int] = (3,)  # conv layers' square kernel sizes
    cnn_strides: Sequence[int] = (1,)  # conv layers' strides

    def check_torso(self, c: str | None = None) -> None:
        c = c or V.config_name(self)
        V.check_choice(c, "torso", self.torso, set(TORSOS))
        for name in ("cnn_channels", "cnn_kernels", "cnn_strides"):
            V.check_sizes(c, name, getattr(self, name))
        n = len(self.cnn_channels)
        if not n or len(self.cnn_kernels) != n or len(self.cnn_strides) != n:
            raise ValueError(
                f"{c}: cnn_channels, cnn_kernels and cnn_strides need one entry per conv layer "
                f"(at least one), got {self.cnn_channels}, {self.cnn_kernels}, {self.cnn_strides}"
            )

    @property
    def torso_spec(self) -> TorsoSpec:
        return TorsoSpec(
            self.torso, tuple(self.cnn_channels), tuple(self.cnn_kernels), tuple(self.cnn_strides)
        )


def image_leaves(obs_ndim) -> list[str]:
    """Names of the rank-3 (image) observation leaves (`"obs"` for an array observation)."""
    if isinstance(obs_ndim, int):
        return ["obs"] if obs_ndim == 3 else []
    return [k for k, n in obs_ndim if n == 3 and k != ACTION_MASK]


def net_kwargs(config, env, env_params) -> dict:
    """`{"obs_ndim": ..., "torso": TorsoSpec}` for a `purerl.nets` network reading `env`'s
    observations with `config`'s torso. Raises ValueError (naming `torso`) for a CNN on an
    env without image observations, or an image too small for the conv layers."""
    c = V.config_name(config)
    obs_ndim = envs.obs_ndim(env, env_params)
    spec = config.torso_spec
    images = image_leaves(obs_ndim)
    if spec.kind == "cnn" and not images:
        raise ValueError(
            f"{c}.torso='cnn' needs a rank-3 (H, W, C) observation; {envs.env_name(env)} "
            f"observes rank {obs_ndim} (use torso='mlp' or 'auto')"
        )
    if spec.kind != "mlp" and images:
        _check_conv_fits(c, env, env_params, spec)
    masked = not isinstance(obs_ndim, int) and ACTION_MASK in dict(obs_ndim)
    if masked and not envs.is_discrete(env, env_params):
        raise ValueError(f"{c}: an action mask needs discrete actions ({envs.env_name(env)})")
    return {"obs_ndim": obs_ndim, "torso": spec}


def _check_conv_fits(c, env, env_params, spec: TorsoSpec) -> None:
    obs = jax.eval_shape(lambda k: env.reset(k, env_params)[0], jax.random.key(0))
    leaves = [obs] if not isinstance(obs, dict) else [v for v in obs.values() if v.ndim == 3]
    for leaf in leaves:
        h, w = leaf.shape[0], leaf.shape[1]
        for k, s in zip(spec.cnn_kernels, spec.cnn_strides, strict=True):
            h, w = (h - k) // s + 1, (w - k) // s + 1
        if h < 1 or w < 1:
            raise ValueError(
                f"{c}.cnn_kernels {spec.cnn_kernels} / cnn_strides {spec.cnn_strides} shrink "
                f"the {leaf.shape[:2]} image of {envs.env_name(env)} to nothing"
            )


def first_obs(obs):
    """The first observation of a batch `[B, ...]`, kept batched `[1, ...]` (any pytree):
    what a network's `init` reads."""
    return jax.tree.map(lambda x: x[:1], obs)


__all__ = ["TorsoConfig", "first_obs", "image_leaves", "net_kwargs"]


# ------------------------------------------------------ on-policy actor-critics
def make_actor_critic(
    env,
    env_params,
    hidden_sizes: Sequence[int],
    activation: str,
    shared_torso: bool = False,
    log_std_init: float = 0.0,
    *,
    config: TorsoConfig | None = None,
    recurrent: str | None = None,
    recurrent_size: int = 64,
) -> ActorCritic | RecurrentActorCritic:
    """An `ActorCritic` sized for `env`: categorical head for discrete actions, diagonal
    Gaussian (in the [-1, 1] action space of `RescaleAction`) for continuous ones; its
    torsos follow `config`'s torso fields (`networks.net_kwargs`; None: MLPs). With
    `recurrent` ("gru" | "lstm"), a `RecurrentActorCritic`: the MLP, then the cell (flat
    vector observations only)."""
    discrete = envs.is_discrete(env, env_params)
    action_dim = envs.num_actions(env, env_params) if discrete else envs.action_dim(env, env_params)
    kwargs = dict(
        action_dim=action_dim,
        discrete=discrete,
        hidden_sizes=tuple(hidden_sizes),
        activation=activation,
        shared_torso=shared_torso,
        log_std_init=log_std_init,
    )
    torso = net_kwargs(config, env, env_params) if config is not None else _mlp(env, env_params)
    if recurrent is None:
        return ActorCritic(**kwargs, **torso)
    if torso["obs_ndim"] != 1:
        raise ValueError(
            f"recurrent={recurrent!r} reads flat vector observations; {envs.env_name(env)} "
            f"observes {torso['obs_ndim']} (CNN torsos and dict observations are feed-forward "
            "only: leave recurrent None)"
        )
    return RecurrentActorCritic(**kwargs, obs_ndim=1, cell=recurrent, recurrent_size=recurrent_size)


def config_actor_critic(env, env_params, config, shared_torso: bool = False):
    """`make_actor_critic` with every network field (sizes, activation, `log_std_init`,
    torso, recurrent cell) read from an on-policy `config`."""
    return make_actor_critic(
        env,
        env_params,
        config.hidden_sizes,
        config.activation,
        shared_torso,
        config.log_std_init,
        config=config,
        recurrent=config.recurrent,
        recurrent_size=config.recurrent_size,
    )


def is_recurrent(net) -> bool:
    return isinstance(net, RecurrentActorCritic)


def _mlp(env, env_params) -> dict:
    return {"obs_ndim": envs.obs_ndim(env, env_params)}
