"""Adversarial Inverse Reinforcement Learning (Fu, Luo and Levine 2018).

The discriminator has the special form

  D(s, a, s') = exp f(s, a, s') / (exp f(s, a, s') + pi(a|s)),  logit D = f - log pi(a|s),
  f(s, a, s') = g(s) + gamma (1 - terminated) h(s') - h(s),

with a state-only reward `g` and a shaping potential `h` (`purerl.nets.discriminators
.ShapedReward`). It is trained by logistic regression of demo transitions (label 1)
against the current policy's (label 0), `log pi` being the current policy's log-density of
each action (held fixed in the discriminator's loss). The policy is trained by purerl's PPO
(`ppo.learn`) on `r = log D - log(1 - D) = f(s, a, s') - log pi(a|s)`; at optimality
`f = A*` and `g` recovers the expert's reward up to a constant (for deterministic
dynamics, Fu et al. 2018 thm. 5.1). `reward(agent, state, obs)` exposes the recovered `g`.

Each update is GAIL's (`purerl.imitation.gail`): collect with the current policy,
`disc_steps` discriminator steps, relabel with the updated discriminator, PPO's epochs.
`gamma` of the shaping is PPO's. The same fixed-horizon setting applies (the learning tests
run CartPole with termination made an absorbing state, `absorbing.fixed_horizon_env`;
Pendulum never terminates).

Metrics: PPO's, plus `disc_loss`, `disc_acc_expert`, `disc_acc_policy`,
`disc_grad_penalty` and `reward/learned` (mean of `f - log pi` over the batch).

Measured (CartPole-v1, 10 PPO-expert episodes, one absorbing step, 300k env steps, 4
seeds): 1.0, 0.06, 0.67, 0.19 normalised return with the gradient penalty (0.0-0.96,
mean 0.23, without); 1.0 on every seed after 500k env steps (GAIL: 1.0 after 300k).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from purerl import envs
from purerl.algos import ppo
from purerl.core import onpolicy
from purerl.imitation import discriminator as disc
from purerl.imitation import gail
from purerl.imitation.demos import Demos
from purerl.imitation.gail import State, check_make
from purerl.nets.discriminators import ShapedReward
from purerl.types import Agent

__all__ = ["Config", "State", "make", "reward", "reward_net"]


@dataclasses.dataclass(frozen=True)
class Config(gail.Config):
    """AIRL hyper-parameters: GAIL's (PPO's nested config and the discriminator's; here
    `disc_hidden_sizes` sizes both `g` and `h`, and the gradient penalty acts on f's
    inputs `(s, s')`)."""

    grad_penalty: float = 10.0  # WGAN-GP weight on f (CartPole, 300k steps: 0.48 vs 0.23)


def reward_net(env, env_params, config: Config) -> ShapedReward:
    """AIRL's `f = g(s) + gamma h(s') - h(s)` networks for `env`."""
    return ShapedReward(
        hidden_sizes=tuple(config.disc_hidden_sizes),
        activation=config.disc_activation,
        torso=config.ppo.torso_spec,
        obs_ndim=len(envs.obs_shape(env, env_params)),
    )


def reward(agent: Agent, state: State, obs):
    """The recovered reward `g(s)` of a trained AIRL agent, `obs [..., *obs_shape] -> [...]`."""
    net = reward_net(agent.env, agent.env_params, agent.config)
    return net.apply(state.disc_params, obs, method="reward")


def make(env, env_params, demos: Demos, config: Config = Config()) -> Agent:
    """AIRL imitating `demos` (a `Demos` collected in `env`). Raises ValueError on bad input."""
    check_make("airl", env, env_params, demos, config, Config)
    net, tx = ppo.build(env, env_params, config.ppo)
    f_net = reward_net(env, env_params, config)
    expert = disc.expert_data(demos)
    gamma = config.ppo.gamma

    def init_disc(key, policy):
        obs = policy.obs[:1]
        return f_net.init(key, obs, obs, jnp.zeros(1, bool), gamma)

    def logit(d_params, x):
        f = f_net.apply(d_params, x["obs"], x["next_obs"], x["terminated"], gamma)
        return disc.airl_logit(f, x["log_prob"])

    def disc_loss(d_params, exp, pol, key):
        total, metrics = disc.logistic_loss(logit(d_params, exp), logit(d_params, pol))
        gp = jnp.zeros((), jnp.float32)
        if config.grad_penalty:  # on f's inputs (s, s'); log pi is held fixed
            f = lambda o, o2: f_net.apply(d_params, o, o2, pol["terminated"], gamma)
            pair = lambda x: {"obs": x["obs"], "action": x["next_obs"]}
            gp = disc.gradient_penalty(key, f, pair(exp), pair(pol), continuous_action=True)
            total = total + config.grad_penalty * gp
        return total, {**metrics, "disc_grad_penalty": gp}

    def disc_data(p, traj):
        batch = onpolicy.merge_time_batch(
            {
                "obs": traj.obs,
                "next_obs": traj.next_obs,
                "terminated": traj.terminated,
                "log_prob": traj.extras["log_prob"],
            }
        )
        # log pi(a_E | s_E) of the demo actions under the policy that collected the batch
        demo_log_prob = net.apply(p.params, expert["obs"], method="policy").log_prob(
            expert["action"]
        )
        return batch, {**expert, "log_prob": jax.lax.stop_gradient(demo_log_prob)}

    def learned_reward(d_params, traj):
        x = {**traj._asdict(), "log_prob": traj.extras["log_prob"]}
        return jax.lax.stop_gradient(logit(d_params, x))

    adversary = gail.Adversary(init_disc, disc_loss, disc_data, learned_reward)
    return gail.adversarial_agent(env, env_params, config, net, tx, adversary)
