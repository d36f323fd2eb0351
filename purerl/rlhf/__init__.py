"""RLHF on a synthetic, exactly measurable task: a teacher language and a preference oracle
(`tasks`), a small causal transformer LM (`lm`), supervised fine-tuning (`sft`), a
Bradley-Terry reward model (`reward_model`), and fine-tuning by token-level PPO (`ppo`),
REINFORCE (`reinforce`), DPO (`dpo`) and best-of-n sampling (`best_of_n`); `sampling` holds
what they share (sampling, KL and reward measurements), `pipeline` runs the whole study
(`scripts/rlhf.py`) and `report` writes its table and plots.

Every trainer is a `purerl.Agent` (`init`, `update`, `num_updates`), so `purerl.train`
runs it as one compiled `lax.scan` and `jax.vmap` sweeps KL coefficients in one compile.
"""

from purerl.rlhf import (
    best_of_n,
    dpo,
    lm,
    pipeline,
    ppo,
    reinforce,
    report,
    reward_model,
    sampling,
    sft,
    tasks,
)

__all__ = [
    "best_of_n",
    "dpo",
    "lm",
    "pipeline",
    "ppo",
    "reinforce",
    "report",
    "reward_model",
    "sampling",
    "sft",
    "tasks",
]
