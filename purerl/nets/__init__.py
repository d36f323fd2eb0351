"""Networks: MLP torso, policy heads (distrax), value and Q heads. Orthogonal init.

All flax imports of purerl live in this package. Modules are flax linen modules: their
parameters are plain pytrees (`params = net.init(key, obs)`, `net.apply(params, obs)`).
"""

from purerl.nets.modules import (
    ACTIVATIONS,
    MLP,
    ActorCritic,
    CategoricalHead,
    DeterministicActor,
    GaussianHead,
    QNetwork,
    ValueHead,
    get_activation,
)
from purerl.nets.offpolicy import (
    ContinuousQEnsemble,
    ContinuousQNetwork,
    DiscreteActor,
    DiscreteQEnsemble,
    DistributionalQNetwork,
    TanhGaussianActor,
    log_one_minus_tanh_sq,
    tanh_gaussian_log_prob,
    tanh_gaussian_sample,
)
from purerl.nets.planning import GaussianMLP, PolicyValueNet
from purerl.nets.transformer import TransformerLM

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "ActorCritic",
    "CategoricalHead",
    "ContinuousQEnsemble",
    "ContinuousQNetwork",
    "DeterministicActor",
    "DiscreteActor",
    "DiscreteQEnsemble",
    "DistributionalQNetwork",
    "GaussianHead",
    "GaussianMLP",
    "PolicyValueNet",
    "QNetwork",
    "TanhGaussianActor",
    "TransformerLM",
    "ValueHead",
    "get_activation",
    "log_one_minus_tanh_sq",
    "tanh_gaussian_log_prob",
    "tanh_gaussian_sample",
]
