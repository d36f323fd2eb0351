"""The peer library: rejax 0.1.3, its published configs, and its own virtual env (rejax
needs gymnax 0.0.9's old step API; purerl needs gymnax 1.x)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REJAX_VENV = ROOT / "benchmarks" / ".venv-rejax"
REJAX_REQUIREMENTS = ["rejax==0.1.3", "gymnax==0.0.9"]

# rejax's configs/gymnax/cartpole.yaml (total_timesteps and eval_freq set at run time)
REJAX_CONFIGS = {
    "ppo": dict(
        agent_kwargs={"activation": "tanh"},
        num_envs=5,
        num_steps=100,
        num_epochs=5,
        num_minibatches=5,
        learning_rate=0.00075,
        max_grad_norm=0.5,
        eval_freq=1000,
        gamma=0.99,
        gae_lambda=0.95,
        clip_eps=0.2,
        ent_coef=0.01,
        vf_coef=0.5,
    ),
    "dqn": dict(
        agent="DuelingQNetwork",
        agent_kwargs={"activation": "swish"},
        num_envs=10,
        buffer_size=50_000,
        fill_buffer=5_000,
        batch_size=100,
        max_grad_norm=10,
        learning_rate=0.001,
        num_epochs=5,
        eval_freq=2_500,
        polyak=0.98,
        eps_start=1,
        eps_end=0.05,
        exploration_fraction=0.5,
        gamma=0.99,
        ddqn=True,
        normalize_observations=False,
    ),
    # configs/gymnax/pendulum.yaml
    "td3": dict(
        actor_kwargs={"activation": "swish"},
        critic_kwargs={"activation": "swish"},
        num_envs=1,
        buffer_size=10_000,
        fill_buffer=1_000,
        batch_size=100,
        learning_rate=0.001,
        num_epochs=1,
        eval_freq=100,
        gamma=0.99,
        polyak=0.95,
        max_grad_norm=100,
        exploration_noise=0.3,
        target_noise=0.2,
        target_noise_clip=0.5,
        policy_delay=2,
        normalize_observations=True,
    ),
    "sac": dict(
        agent_kwargs={"activation": "swish"},
        num_envs=1,
        buffer_size=10_000,
        fill_buffer=256,
        batch_size=256,
        learning_rate=0.01,
        num_epochs=1,
        eval_freq=100,
        gamma=0.99,
        polyak=0.98,
        target_entropy_ratio=None,
        normalize_observations=True,
    ),
}


def ensure_rejax_python(explicit: str | None) -> str:
    """Python of the rejax virtual env; creates `benchmarks/.venv-rejax` on first use."""
    if explicit:
        return explicit
    python = REJAX_VENV / "bin" / "python"
    check = [str(python), "-c", "import rejax, gymnax"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    print(f"creating the rejax virtual env at {REJAX_VENV} ...", flush=True)
    REJAX_VENV.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(REJAX_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *REJAX_REQUIREMENTS], check=True)
    subprocess.run(check, check=True)
    return str(python)
