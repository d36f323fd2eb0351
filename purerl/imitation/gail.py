"""Generative Adversarial Imitation Learning (Ho and Ermon 2016).

A discriminator `D(s, a) = sigmoid(l(s, a))` learns to tell demonstration pairs (label 1)
from the current policy's (label 0) by logistic regression
(`discriminator.logistic_loss`), and the policy is trained by purerl's PPO (`ppo.learn`)
on the reward `r(s, a) = -log(1 - D(s, a)) = softplus(l(s, a))` in place of the env's.
Each update: collect `ppo.num_steps x ppo.num_envs` steps with the current policy, take
`disc_steps` Adam steps on the discriminator (minibatches of `disc_batch_size` policy
and demo pairs), relabel the batch with the updated discriminator's reward, then PPO's
epochs. The env reward is never used for learning; `episode_return` reports it.

The reward is positive, so on an env that terminates early it pays for surviving
whatever the demos show (the survival bias). The learning tests therefore run CartPole in
the absorbing-state setting of Kostrikov et al. (2019) instead
(`purerl.imitation.absorbing.fixed_horizon_env(..., absorbing_steps=1)`): termination
leads to an absorbing state whose reward the discriminator learns like any other and
whose value PPO's critic bootstraps (`r_abs / (1 - gamma)`), so dying is worth what the
learned reward says, not 0. (Playing the absorbing state out to the time limit,
`absorbing_steps=None`, is the literal fixed horizon; on CartPole it spends most env steps
in the absorbing state and learns far slower: 0.33 normalised return after 300k steps
against 1.0.) Pendulum never terminates.

Metrics: PPO's, plus `disc_loss`, `disc_acc_expert`, `disc_acc_policy` (averaged over
the discriminator steps of the update) and `reward/learned` (mean learned reward).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl import envs
from purerl.algos import ppo
from purerl.core import counter, onpolicy
from purerl.core import validation as V
from purerl.core.rollout import episode_metrics
from purerl.imitation import discriminator as disc
from purerl.imitation.demos import Demos
from purerl.nets.discriminators import Discriminator
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """GAIL hyper-parameters: PPO's (nested) and the discriminator's."""

    ppo: ppo.Config = ppo.Config()  # the policy learner; its total_timesteps is the budget
    disc_hidden_sizes: Sequence[int] = (64, 64)
    disc_activation: str = "tanh"
    disc_learning_rate: float = 3e-4
    disc_steps: int = 8  # discriminator Adam steps per update
    disc_batch_size: int = 256  # policy pairs (and as many demo pairs) per step
    disc_max_grad_norm: float = 1.0
    grad_penalty: float = 0.0  # weight of the WGAN-GP penalty on the discriminator (0: none)

    def __post_init__(self):
        super().__post_init__()
        c = V.config_name(self)
        disc.check_config(c, self)

    @property
    def total_timesteps(self) -> int:
        return self.ppo.total_timesteps

    @property
    def num_updates(self) -> int:
        return self.ppo.num_updates


@struct.dataclass
class State:
    """GAIL train state: PPO's state and the discriminator's parameters."""

    policy: ppo.State
    disc_params: dict
    disc_opt_state: optax.OptState

    @property
    def env_state(self):  # what `purerl.evaluate` copies normalisation statistics from
        return self.policy.env_state


def _learner_config(config):
    """The policy learner's Config (GAIL, AIRL: `ppo`; DAC: `sac`): its torso fields size
    the discriminator's image encoder too."""
    return config.ppo if hasattr(config, "ppo") else config.sac


def discriminator_net(env, env_params, config: Config) -> Discriminator:
    """The discriminator `l(s, a)` for `env`."""
    discrete = envs.is_discrete(env, env_params)
    return Discriminator(
        hidden_sizes=tuple(config.disc_hidden_sizes),
        activation=config.disc_activation,
        obs_ndim=len(envs.obs_shape(env, env_params)),
        torso=_learner_config(config).torso_spec,
        num_actions=envs.num_actions(env, env_params) if discrete else 0,
        action_ndim=0 if discrete else len(envs.action_shape(env, env_params)),
    )


def disc_optimizer(config) -> optax.GradientTransformation:
    return optax.chain(
        optax.clip_by_global_norm(config.disc_max_grad_norm), optax.adam(config.disc_learning_rate)
    )


def make_disc_loss(d_net, config, continuous_action: bool):
    """`loss(d_params, exp, pol, key) -> (loss, metrics)`: the logistic loss of `l(s, a)`,
    plus `config.grad_penalty` times the gradient penalty."""

    def loss(d_params, exp, pol, key):
        logit = lambda o, a: d_net.apply(d_params, o, a)
        total, metrics = disc.logistic_loss(
            logit(exp["obs"], exp["action"]), logit(pol["obs"], pol["action"])
        )
        gp = jnp.zeros((), jnp.float32)
        if config.grad_penalty:
            gp = disc.gradient_penalty(key, logit, exp, pol, continuous_action)
            total = total + config.grad_penalty * gp
        metrics = {**metrics, "disc_grad_penalty": gp}
        return total, metrics

    return loss


def check_make(name, env, env_params, demos, config, config_cls):
    if not isinstance(config, config_cls):
        raise ValueError(f"{name}.make expects a {name}.Config, got {type(config).__name__}")
    disc.check_demos(f"{name}.make", demos, env, env_params)
    if config.disc_batch_size > config.ppo.batch_size:
        raise ValueError(
            f"{name}.Config: disc_batch_size {config.disc_batch_size} exceeds the policy batch "
            f"ppo.num_envs * ppo.num_steps = {config.ppo.batch_size}"
        )


class Adversary(NamedTuple):
    """The discriminator side of an adversarial imitation learner (GAIL, AIRL)."""

    init: Callable  # (key, ppo_state) -> discriminator params
    loss: Callable  # `disc.fit`'s loss: (d_params, expert, policy, key) -> (loss, metrics)
    data: Callable  # (ppo_state, traj) -> (policy batch, expert batch) for `disc.fit`
    reward: Callable  # (d_params, traj) -> the learned reward [T, B] PPO trains on


def adversarial_agent(env, env_params, config, net, tx, adversary: Adversary) -> Agent:
    """The loop GAIL and AIRL share: each update collects one PPO batch with `net`, fits
    the discriminator on it (`config.disc_steps` Adam steps) and takes one PPO learning
    step (`tx`) on the discriminator's reward in place of the env's."""
    d_tx = disc_optimizer(config)
    T = config.ppo.num_steps

    def init(key) -> State:
        k_net, k_env, k_disc, k_state = jax.random.split(key, 4)
        policy = ppo.init_state(k_net, k_env, k_state, net, tx, env, env_params, config.ppo)
        d_params = adversary.init(k_disc, policy)
        return State(policy, d_params, d_tx.init(d_params))

    def update(state: State):
        p = state.policy
        key, k_roll, k_disc, k_learn = jax.random.split(p.key, 4)
        env_state, obs, traj, v_tp1 = onpolicy.collect(
            k_roll, net, p.params, env, env_params, p.env_state, p.obs, T
        )
        batch, expert = adversary.data(p, traj)
        d_params, d_opt, d_metrics = disc.fit(
            k_disc,
            adversary.loss,
            state.disc_params,
            state.disc_opt_state,
            d_tx,
            batch,
            expert,
            config.disc_steps,
            config.disc_batch_size,
        )
        reward = adversary.reward(d_params, traj)
        params, opt_state, kl_coef, metrics = ppo.learn(
            k_learn, net, tx, config.ppo, p.params, p.opt_state, p.kl_coef,
            traj._replace(reward=reward), v_tp1,
        )  # fmt: skip
        metrics["reward/learned"] = jnp.mean(reward)
        metrics["env_steps"] = counter.to_float(p.step + 1, config.ppo.batch_size)
        metrics.update(episode_metrics(traj.info))
        policy = ppo.next_state(p, params, opt_state, kl_coef, env_state, obs, key)
        return State(policy, d_params, d_opt), {**metrics, **d_metrics}

    def act(state: State, obs, key):
        return net.apply(state.policy.params, obs, method="policy").mode()

    return Agent(init, update, act, config.num_updates, env, env_params, config)


def make(env, env_params, demos: Demos, config: Config = Config()) -> Agent:
    """GAIL imitating `demos` (a `Demos` collected in `env`). Raises ValueError on bad input."""
    check_make("gail", env, env_params, demos, config, Config)
    net, tx = ppo.build(env, env_params, config.ppo)
    d_net = discriminator_net(env, env_params, config)
    expert = disc.expert_data(demos)

    def disc_data(p, traj):
        return onpolicy.merge_time_batch({"obs": traj.obs, "action": traj.action}), expert

    def learned_reward(d_params, traj):
        return disc.gail_reward(d_net.apply(d_params, traj.obs, traj.action))

    adversary = Adversary(
        lambda key, p: d_net.init(key, expert["obs"][:1], expert["action"][:1]),
        make_disc_loss(d_net, config, not envs.is_discrete(env, env_params)),
        disc_data,
        learned_reward,
    )
    return adversarial_agent(env, env_params, config, net, tx, adversary)
