"""Networks by concept: torsos (MLP, activations, orthogonal init), actors (policy heads,
deterministic, tanh-Gaussian and discrete actors, `ActorCritic`), critics (value, Q,
distributional and continuous Q networks, critic ensembles), dynamics (PETS' Gaussian MLP),
recurrent torsos (GRU, LSTM, `RecurrentActorCritic`),
`PolicyValueNet` (AlphaZero), discriminators (GAIL, AIRL) and a small transformer LM.

All flax imports of purerl live in this package. Modules are flax linen modules: their
parameters are plain pytrees (`params = net.init(key, obs)`, `net.apply(params, obs)`).
Networks read arrays; a structured observation (e.g. a goal-conditioned dict) enters
through the network's `input_fn` (e.g. `purerl.envs.network_input`).
"""

from purerl.nets.actors import (
    ActorCritic,
    CategoricalHead,
    DeterministicActor,
    DiscreteActor,
    GaussianHead,
    TanhGaussianActor,
    log_one_minus_tanh_sq,
    tanh_gaussian_log_prob,
    tanh_gaussian_sample,
)
from purerl.nets.critics import (
    ContinuousQEnsemble,
    ContinuousQNetwork,
    DiscreteQEnsemble,
    DistributionalQNetwork,
    QNetwork,
    ValueHead,
)
from purerl.nets.discriminators import Discriminator, ShapedReward
from purerl.nets.dynamics import GaussianMLP, bound_penalty
from purerl.nets.masks import action_mask, mask_logits, masked_argmax, uniform_legal_action
from purerl.nets.policy_value import PolicyValueNet
from purerl.nets.recurrent import (
    CELLS,
    GRUCell,
    LSTMCell,
    RecurrentActorCritic,
    RecurrentTorso,
    reset_carry,
    zero_carry,
)
from purerl.nets.torsos import (
    ACTIVATIONS,
    CNN,
    MLP,
    TORSOS,
    Torso,
    TorsoSpec,
    get_activation,
    network_array,
    orthogonal,
)
from purerl.nets.transformer import TransformerLM

__all__ = [
    "ACTIVATIONS",
    "CNN",
    "CELLS",
    "GRUCell",
    "LSTMCell",
    "RecurrentActorCritic",
    "RecurrentTorso",
    "reset_carry",
    "zero_carry",
    "MLP",
    "TORSOS",
    "ActorCritic",
    "CategoricalHead",
    "ContinuousQEnsemble",
    "ContinuousQNetwork",
    "DeterministicActor",
    "Discriminator",
    "DiscreteActor",
    "DiscreteQEnsemble",
    "DistributionalQNetwork",
    "GaussianHead",
    "GaussianMLP",
    "PolicyValueNet",
    "QNetwork",
    "ShapedReward",
    "TanhGaussianActor",
    "Torso",
    "TorsoSpec",
    "TransformerLM",
    "ValueHead",
    "action_mask",
    "bound_penalty",
    "get_activation",
    "log_one_minus_tanh_sq",
    "mask_logits",
    "masked_argmax",
    "network_array",
    "orthogonal",
    "tanh_gaussian_log_prob",
    "tanh_gaussian_sample",
    "uniform_legal_action",
]
