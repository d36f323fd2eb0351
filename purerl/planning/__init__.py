"""Model-based control: MPC (CEM / MPPI, with the true model or a learned PETS ensemble)
and Monte Carlo tree search (mctx, with the true model or an AlphaZero-style agent).

* `models`: `true_model(env)` (the env as a planning model) and the PETS ensemble.
* `planners`: the CEM and MPPI optimisers and the objectives they maximise.
* `mpc`: `Config` (the planner's settings), `plan` and `controller` (true-model MPC).
* `pets`: `make` (PETS: MPC with a learned ensemble, an `Agent`).
* `search`: the mctx tree search (`search`, `SearchConfig`, leaf evaluators: random
  rollouts or a policy/value network).
* `mcts`: `controller` (true-model MCTS) and its `Config`.
* `alphazero`: `make` (the AlphaZero-style `Agent`) and `controller` (its network inside
  the search).
* `control`: the `Controller` interface and `evaluate_controller`, for planners that act
  from the env's state rather than its observation.
"""

from purerl.planning import alphazero, control, mcts, models, mpc, pets, planners, search
from purerl.planning.control import Controller, evaluate_controller
from purerl.planning.models import Model, make_ensemble, true_model

__all__ = [
    "Controller",
    "Model",
    "alphazero",
    "control",
    "evaluate_controller",
    "make_ensemble",
    "mcts",
    "models",
    "mpc",
    "pets",
    "planners",
    "search",
    "true_model",
]
