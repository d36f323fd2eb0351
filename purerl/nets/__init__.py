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

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "ActorCritic",
    "CategoricalHead",
    "DeterministicActor",
    "GaussianHead",
    "QNetwork",
    "ValueHead",
    "get_activation",
]
