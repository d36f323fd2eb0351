"""The HER episode buffer (`purerl.core.her_buffer`): sampling and relabelling against
brute-force references on hand-built episodes (moved from tests/algos/test_her.py), the exact
joint distribution of (transition, goal) per strategy, and input validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.core.her_buffer import make_her_buffer, relabel_probability

# ----------------------------------------------------------- hand-built episodes
# Two envs, time limit T = 4, 3 episode rows per env (capacity 24 transitions). Step ids
# s = 100 b + 10 episode + t are stored as the *next* achieved goal (1-D goals), so a goal
# tells which (env, episode, step) achieved it. Goals are reached within 0.5.
T_MAX, B = 4, 2
LENGTHS = {0: [4, 2, 3, 2], 1: [1, 4, 3, 3]}  # the last episode of each env is in progress
UNREACHABLE = -7.0


def reward_fn(ag, g):
    return jnp.where(jnp.abs(ag - g)[..., 0] < 0.5, 0.0, -1.0)


def reached_fn(ag, g):
    return jnp.abs(ag - g)[..., 0] < 0.5


def _steps(b):
    """Per-step records of env b: (s, episode, t, terminated, truncated, desired goal)."""
    out = []
    lengths = LENGTHS[b]
    for ep, n in enumerate(lengths):
        in_progress = ep == len(lengths) - 1
        terminal = n < T_MAX and not in_progress  # short finished episodes reached their goal
        goal = 100 * b + 10 * ep + n - 1 if terminal else UNREACHABLE
        for t in range(n):
            last = t == n - 1 and not in_progress
            out.append(
                (100 * b + 10 * ep + t, ep, t, last and terminal, last and not terminal, goal)
            )
    return out


def _items(steps_per_env, lo, hi):
    """Time-major `[T' * B]` items of steps lo..hi-1 of every env."""
    rows = [steps_per_env[b][i] for i in range(lo, hi) for b in range(B)]
    s = np.array([r[0] for r in rows], np.float32)[:, None]
    g = np.array([r[5] for r in rows], np.float32)[:, None]
    reached = np.abs(s - g)[:, 0] < 0.5
    obs = {"observation": s, "achieved_goal": s - 1, "desired_goal": g}
    next_obs = {"observation": s + 0.25, "achieved_goal": s, "desired_goal": g}
    return {
        "obs": obs,
        "action": np.zeros(len(rows), np.int32),
        "reward": np.where(reached, 0.0, -1.0).astype(np.float32),
        "terminated": np.array([r[3] for r in rows]),
        "truncated": np.array([r[4] for r in rows]),
        "next_obs": next_obs,
    }


def _filled(strategy="future", k=4, batch_size=4096):
    buf = make_her_buffer(
        capacity=24,
        batch_size=batch_size,
        num_envs=B,
        max_episode_steps=T_MAX,
        compute_reward=reward_fn,
        goal_reached=reached_fn,
        strategy=strategy,
        k=k,
    )
    steps = {b: _steps(b) for b in range(B)}
    assert len(steps[0]) == len(steps[1]) == 11
    example = jax.tree.map(lambda x: x[0], _items(steps, 0, 1))
    state = buf.init(example)
    state = jax.jit(buf.add)(state, _items(steps, 0, 5))  # two adds: rows continue across
    state = jax.jit(buf.add)(state, _items(steps, 5, 11))
    return buf, state, steps


def _stored():
    """Brute force: the episodes a 3-row ring keeps (the last 3 of each env), as
    `{(b, ep): length}`."""
    return {(b, ep): n for b in range(B) for ep, n in enumerate(LENGTHS[b]) if ep >= 1}


def _decode(s):
    s = np.rint(np.asarray(s)).astype(int)
    return s // 100, (s % 100) // 10, s % 10


def _sample(buf, state, seed=0):
    batch = jax.jit(buf.sample)(state, jax.random.key(seed))
    return jax.tree.map(np.asarray, batch)


def test_sampling_is_uniform_over_the_valid_stored_transitions():
    buf, state, _ = _filled(batch_size=8192)
    stored = _stored()
    n_valid = sum(stored.values())
    assert int(buf.size(state)) == n_valid == 17
    batch = _sample(buf, state)
    b, ep, t = _decode(batch["next_obs"]["achieved_goal"][:, 0])
    # every sample is a valid transition of a stored episode (none of an overwritten one,
    # none past an episode's end in a reused row)
    assert all(
        (bi, ei) in stored and ti < stored[bi, ei] for bi, ei, ti in zip(b, ep, t, strict=True)
    )
    # the stored observation is the one of that step
    np.testing.assert_allclose(
        batch["obs"]["observation"][:, 0], batch["next_obs"]["achieved_goal"][:, 0]
    )
    counts = {}
    for key in zip(b, ep, t, strict=True):
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == n_valid
    expected = 8192 / n_valid
    assert all(abs(c - expected) < 5 * np.sqrt(expected) for c in counts.values())


@pytest.mark.parametrize("strategy", ["future", "final", "episode", "random"])
def test_relabelled_rewards_and_terminations_equal_compute_reward(strategy):
    buf, state, steps = _filled(strategy)
    batch = _sample(buf, state, seed=1)
    relabel = batch["relabelled"]
    assert abs(relabel.mean() - 0.8) < 0.03  # k = 4: probability 1 - 1/5
    g = batch["obs"]["desired_goal"]
    np.testing.assert_array_equal(g, batch["next_obs"]["desired_goal"])
    ag = batch["next_obs"]["achieved_goal"]
    np.testing.assert_array_equal(batch["reward"][relabel], np.asarray(reward_fn(ag, g))[relabel])
    np.testing.assert_array_equal(
        batch["terminated"][relabel], np.asarray(reached_fn(ag, g))[relabel]
    )
    # reward 0 exactly where the relabelled goal is the transition's own achieved goal
    assert batch["reward"][relabel].max() == 0.0 and batch["reward"][relabel].min() == -1.0
    # the other transitions keep their stored goal, reward and termination
    by_id = {s: rec for b in range(B) for rec in steps[b] for s in [rec[0]]}
    for i in np.flatnonzero(~relabel):
        rec = by_id[int(round(float(ag[i, 0])))]
        assert g[i, 0] == rec[5] and bool(batch["terminated"][i]) == rec[3]
        assert batch["reward"][i] == (0.0 if abs(rec[0] - rec[5]) < 0.5 else -1.0)
    # a truncated transition whose relabelled goal is not reached stays non-terminal
    _, _, t = _decode(ag[:, 0])
    last = relabel & (t == T_MAX - 1)  # the truncated last steps of 4-step episodes
    if strategy in ("future", "final"):  # their only future goal is their own: reached
        assert last.any() and (batch["reward"][last] == 0).all() and batch["terminated"][last].all()
    else:
        trunc = last & (batch["reward"] < 0)
        assert trunc.any() and not batch["terminated"][trunc].any()


@pytest.mark.parametrize("strategy", ["future", "final", "episode", "random"])
def test_relabelled_goals_come_from_the_strategy_s_steps(strategy):
    buf, state, _ = _filled(strategy)
    stored = _stored()
    batch = _sample(buf, state, seed=2)
    rel = batch["relabelled"]
    b, ep, t = _decode(batch["next_obs"]["achieved_goal"][rel, 0])
    gb, gep, gt = _decode(batch["obs"]["desired_goal"][rel, 0])
    length = np.array([stored[bi, ei] for bi, ei in zip(b, ep, strict=True)])
    if strategy == "random":  # any stored achieved goal, of any episode
        assert all(
            (x, y) in stored and z < stored[x, y] for x, y, z in zip(gb, gep, gt, strict=True)
        )
        assert (gep != ep).any()
        return
    assert (gb == b).all() and (gep == ep).all()  # the same episode
    if strategy == "future":
        assert (gt >= t).all() and (gt <= length - 1).all()  # achieved at t' in [t, L-1]
        # every future step occurs: for t = 0 in a 4-step episode, t' takes 0, 1, 2, 3
        four = (t == 0) & (length == 4)
        assert set(gt[four]) == {0, 1, 2, 3}
    elif strategy == "final":
        np.testing.assert_array_equal(gt, length - 1)
    else:  # episode
        assert (gt <= length - 1).all() and (gt < t).any() and (gt > t).any()


def test_k_sets_the_relabel_probability_and_success_rate_counts_episodes():
    for k, p in ((0, 0.0), (1, 0.5)):
        buf, state, _ = _filled(k=k)
        assert abs(_sample(buf, state)["relabelled"].mean() - p) < 0.03
    # brute force over the hand-built steps: episodes ended in each add and their successes
    buf, state, steps = _filled()
    ended = lambda lo, hi: [r for b in range(B) for r in steps[b][lo:hi] if r[3] or r[4]]
    first, second = ended(0, 5), ended(5, 11)
    assert (len(first), len(second)) == (3, 3)
    assert int(state.episodes) == 6 and int(state.successes) == sum(r[3] for r in first + second)
    assert float(state.success_rate) == np.mean([r[3] for r in second]) == 1.0
    state = jax.jit(buf.add)(
        buf.init(jax.tree.map(lambda x: x[0], _items(steps, 0, 1))), _items(steps, 0, 5)
    )
    assert float(state.success_rate) == pytest.approx(np.mean([r[3] for r in first]))  # 1 / 3


# ------------------------------------------------------------ exact distribution
def _expected(strategy, k):
    """Brute force: the probability of every `(transition s, relabelled, goal)` one draw of
    `sample` gives, enumerated from the stored episodes. A transition is uniform over the
    N valid ones; with probability p its goal is replaced by a next achieved goal (a step
    id) that the strategy picks, else it keeps its stored goal."""
    stored = _stored()
    steps = {rec[0]: rec for b in range(B) for rec in _steps(b)}
    transitions = [(b, ep, t) for (b, ep), n in stored.items() for t in range(n)]
    n_valid, p = len(transitions), relabel_probability(k)
    sid = lambda b, ep, t: 100 * b + 10 * ep + t
    probs = {}

    def add(key, q):
        probs[key] = probs.get(key, 0.0) + q

    for b, ep, t in transitions:
        s, length = sid(b, ep, t), stored[b, ep]
        add((s, False, steps[s][5]), (1 - p) / n_valid)
        if strategy == "future":
            goals = [sid(b, ep, u) for u in range(t, length)]
        elif strategy == "final":
            goals = [sid(b, ep, length - 1)]
        elif strategy == "episode":
            goals = [sid(b, ep, u) for u in range(length)]
        else:  # random: any valid stored transition
            goals = [sid(*x) for x in transitions]
        for g in goals:
            add((s, True, g), p / n_valid / len(goals))
    return probs


@pytest.mark.parametrize("strategy", ["future", "final", "episode", "random"])
def test_relabelled_goal_distribution_equals_the_brute_force_enumeration(strategy):
    n = 32_768
    buf, state, _ = _filled(strategy, k=3, batch_size=n)
    batch = _sample(buf, state, seed=3)
    s = np.rint(batch["next_obs"]["achieved_goal"][:, 0]).astype(int)
    g = np.rint(batch["obs"]["desired_goal"][:, 0]).astype(int)
    counts = {}
    for key in zip(s, batch["relabelled"].tolist(), g, strict=True):
        counts[key] = counts.get(key, 0) + 1
    probs = _expected(strategy, 3)
    assert set(counts) <= set(probs), set(counts) - set(probs)  # nothing impossible drawn
    assert sum(probs.values()) == pytest.approx(1.0)
    # Pearson's chi-square over every cell: mean df, sd sqrt(2 df); 6 sd is a loose bound
    chi2 = sum((counts.get(c, 0) - n * q) ** 2 / (n * q) for c, q in probs.items())
    df = len(probs) - 1
    assert chi2 < df + 6 * np.sqrt(2 * df), (chi2, df)


def test_make_her_buffer_validates_its_arguments():
    ok = dict(
        capacity=24,
        batch_size=4,
        num_envs=2,
        max_episode_steps=4,
        compute_reward=reward_fn,
        goal_reached=reached_fn,
    )
    for name, bad in (
        ("capacity", 0),
        ("batch_size", -1),
        ("num_envs", 2.0),
        ("max_episode_steps", True),
    ):
        with pytest.raises(ValueError, match=name):
            make_her_buffer(**{**ok, name: bad})
    with pytest.raises(ValueError, match="strategy"):
        make_her_buffer(**ok, strategy="past")
    with pytest.raises(ValueError, match="k must be"):
        make_her_buffer(**ok, k=-1)
    # capacity rounds up to whole episode rows, at least 2 per env
    assert make_her_buffer(**{**ok, "capacity": 1}).capacity == 2 * 2 * 4
    assert relabel_probability(4) == pytest.approx(0.8) and relabel_probability(0) == 0.0
