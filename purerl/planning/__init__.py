"""Model-based control: MPC (CEM / MPPI, with the true model or a learned PETS ensemble)
and Monte Carlo tree search (mctx, with an AlphaZero-style agent).

* `models`: `true_model(env)` (the env as a planning model) and the PETS ensemble.
* `planners`: the CEM and MPPI optimisers and the objectives they maximise.
* `mpc`: `controller` (true-model MPC) and `make` (learned-model MPC agent).
* `mcts`: `search`, `controller` (true-model MCTS) and `make` (AlphaZero-style agent).
* `control`: the `Controller` interface and `evaluate_controller`, for planners that act
  from the env's state rather than its observation.
"""

from purerl.planning import control, mcts, models, mpc, planners
from purerl.planning.control import Controller, evaluate_controller
from purerl.planning.models import Model, make_ensemble, true_model

__all__ = [
    "Controller",
    "Model",
    "control",
    "evaluate_controller",
    "make_ensemble",
    "mcts",
    "models",
    "mpc",
    "planners",
    "true_model",
]
