"""Improve a policy network by self-play policy gradient (REINFORCE), as AlphaGo's RL stage did.

    python scripts/reinforce.py --minutes 5 --out runs/reinforce           # the bundled model
    python scripts/reinforce.py --model runs/sl/model.pt --minutes 0.5 --out /tmp/rl

What it does, top to bottom:

1. Load the starting checkpoint; the learner is a trainable copy of it.
2. Repeat until ``--minutes`` are spent (checked after each update): play
   ``--games`` 19x19 games at once in ``goai/Go-v0`` environments, the learner
   against an opponent drawn per game from a pool of frozen earlier versions
   (at first only the starting model; a snapshot joins every
   ``--snapshot-every`` updates), the learner's colour drawn per game. The
   learner samples from its probabilities over the legal moves that are not
   its own eyes, pass included; the opponents choose as ``goai.play.env``'s policy
   opponent does (``goai.play.player`` rules, sampling at temperature 1).
3. After each batch of games, one REINFORCE step: raise the log-probability of
   every move the learner played by ``z - b``, where ``z`` is the game's
   outcome for the learner (+1/-1; a game cut at ``--max-moves`` is counted
   by area score) and the baseline ``b`` is the batch's mean outcome.
4. Save the learner with ``goai.nn.checkpoint.save_checkpoint`` to ``OUT/model.pt``
   and measure it with ``goai match``: ``--eval-games`` games over GTP against
   the starting model, colours alternating, both engines sampling at
   ``--eval-temperature`` (AlphaGo compared its RL and SL networks the same
   way), GNU Go refereeing, the games saved under ``OUT/match``; print a JSON
   report with the win rate, its 95% interval and the Elo difference.

Costs and choices: batch norm stays in eval mode (its running statistics are
the supervised network's; AlphaGo's network had none), so the step adjusts the
weights only; the value head, if any, is not trained. Learner moves of a batch
are evaluated together, the opponents' one at a time inside ``env.step``; on a
CPU a game of 300 moves takes seconds, so a few minutes give tens of updates:
enough to see the loop work, not to gain much strength.

The learning rate, measured on the bundled model (2-core CPU, 1 thread): each
update prints the mean KL(start || learner) on fixed positions. AlphaGo's 1e-3
with 8-game batches (AlphaGo's had 128) moved it 1.7 nats in one update and
the learner lost 40 of 40 games to the start; 1e-4 (8 games) reached 0.28
after 4 updates. The default 1e-5 with 16 games rose slowly from 0.003 to 0.07
over 29 updates (25 minutes, 464 games), and the learner then won 48 of 100
against the start: stable, and far too short a run to be stronger. AlphaGo ran
10,000 updates of 128 games.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from goai.nn.checkpoint import load_model, save_checkpoint
from goai.nn.policy import Policy, default_model_path
from goai.play.env import GoEnv, PolicyOpponent
from goai.play.match import MatchConfig, run_match
from goai.rules.board import BLACK
from goai.rules.coords import NETWORK_SIZE
from goai.rules.eyes import is_eye
from goai.rules.game import GameState


class PoolOpponent:
    """A ``goai.play.env.Opponent`` that is a frozen policy drawn uniformly from ``pool`` each game.

    ``pool`` grows as snapshots are saved; ``loaded`` caches one ``PolicyOpponent``
    per path and is shared between the environments.
    """

    def __init__(self, pool: list[Path], loaded: dict[Path, PolicyOpponent], seed: int) -> None:
        self.pool = pool
        self.loaded = loaded
        self.current: PolicyOpponent | None = None
        self._random = random.Random(seed)

    def new_game(self, size: int, komi: float) -> None:
        path = self._random.choice(self.pool)
        if path not in self.loaded:
            self.loaded[path] = PolicyOpponent(Policy(path))
        self.current = self.loaded[path]
        self.current.new_game(size, komi)

    def choose(self, state: GameState, rng: np.random.Generator) -> int:
        return self.current.choose(state, rng)

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class Batch:
    """The learner's moves in a batch of games: planes (M, C, 19, 19), legal masks, actions."""

    planes: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    game_of_move: list[int] = field(default_factory=list)


def outcome(env: GoEnv, reward: float, terminated: bool) -> float:
    """The learner's result: the reward when the game ended, the area score's sign when cut."""
    if terminated:
        return reward
    score = env.state.score() if env.agent == BLACK else -env.state.score()
    return float(np.sign(score))


def learner_mask(env: GoEnv, info: dict) -> np.ndarray:
    """``bool`` (362,): the legal actions minus own eyes, which ``goai.play.player`` never fills."""
    mask = info["action_mask"].astype(bool)
    color = env.state.to_play
    for point in np.flatnonzero(mask[:-1]):
        mask[point] = not is_eye(env.state.board, int(point), color)
    return mask


@torch.no_grad()
def sample_actions(model: torch.nn.Module, planes: np.ndarray, masks: np.ndarray,
                   generator: torch.Generator) -> list[int]:
    """One sampled legal action per position: planes uint8 (B, C, 19, 19), masks bool (B, 362)."""
    logits = model(torch.from_numpy(planes).float()).logits
    logits = logits.masked_fill(~torch.from_numpy(masks), float("-inf"))
    return torch.multinomial(torch.softmax(logits, dim=1), 1, generator=generator)[:, 0].tolist()


def play_batch(model: torch.nn.Module, envs: list[GoEnv], seed: int,
               generator: torch.Generator) -> tuple[Batch, list[float], int]:
    """Play one game in each env, the learner's moves evaluated together.

    Returns the learner's moves, each game's outcome for the learner, and the moves played.
    """
    batch = Batch()
    # Game index -> (observation, legal mask) of the games still being played.
    waiting: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i, env in enumerate(envs):
        observation, info = env.reset(seed=seed + i)
        waiting[i] = observation, learner_mask(env, info)
    outcomes = [0.0] * len(envs)
    while waiting:
        playing = list(waiting)
        planes = np.stack([waiting[i][0] for i in playing])
        masks = np.stack([waiting[i][1] for i in playing])
        actions = sample_actions(model, planes, masks, generator)
        for i, plane, mask, action in zip(playing, planes, masks, actions, strict=True):
            batch.planes.append(plane)
            batch.masks.append(mask)
            batch.actions.append(action)
            batch.game_of_move.append(i)
            observation, reward, terminated, truncated, info = envs[i].step(action)
            if terminated or truncated:
                outcomes[i] = outcome(envs[i], reward, terminated)
                del waiting[i]
            else:
                waiting[i] = observation, learner_mask(envs[i], info)
    return batch, outcomes, sum(len(env.state.history) for env in envs)


def reinforce_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Batch,
                   outcomes: list[float], chunk: int = 256) -> None:
    """One policy-gradient step: loss = -sum (z - mean z) log p(action) / games, in chunks."""
    advantages = np.array(outcomes) - np.mean(outcomes)
    optimizer.zero_grad()
    for start in range(0, len(batch.actions), chunk):
        stop = start + chunk
        planes = torch.from_numpy(np.stack(batch.planes[start:stop])).float()
        masks = torch.from_numpy(np.stack(batch.masks[start:stop]))
        actions = torch.tensor(batch.actions[start:stop])
        weights = torch.tensor(advantages[batch.game_of_move[start:stop]], dtype=torch.float32)
        logits = model(planes).logits
        log_probs = torch.log_softmax(logits.masked_fill(~masks, float("-inf")), dim=1)
        chosen = log_probs.gather(1, actions[:, None])[:, 0]
        (-(weights * chosen).sum() / len(outcomes)).backward()
    optimizer.step()


@torch.no_grad()
def kl_from_start(start: torch.nn.Module, model: torch.nn.Module, planes: np.ndarray,
                  masks: np.ndarray) -> float:
    """Mean KL(start || model) over legal moves, nats: how far the learner has drifted.

    planes uint8 (B, C, 19, 19) and masks bool (B, 362) are fixed probe positions.
    A policy-gradient step that moves this by much more than ~0.01 is a step too
    big for its noise: the policy forgets what supervised training taught it.
    """
    x = torch.from_numpy(planes).float()
    legal = torch.from_numpy(masks)
    log_p = torch.log_softmax(start(x)[0].masked_fill(~legal, float("-inf")), dim=1)
    log_q = torch.log_softmax(model(x)[0].masked_fill(~legal, float("-inf")), dim=1)
    terms = torch.where(legal, log_p.exp() * (log_p - log_q), torch.zeros_like(log_p))
    return float(terms.sum(dim=1).mean())


def gtp_command(model: Path, temperature: float, seed: int) -> str:
    """``goai gtp`` on ``model``, sampling at ``temperature``, run by this Python."""
    return (f"{shlex.quote(sys.executable)} -m goai gtp --model {shlex.quote(str(model))} "
            f"--temperature {temperature:g} --seed {seed} --threads 1")


def evaluate(new: Path, start: Path, games: int, temperature: float, komi: float,
             max_moves: int, referee: str, seed: int, sgf_dir: Path | None) -> dict:
    """``goai match`` of ``new`` (engine A) against ``start`` (B) over GTP, colours alternating.

    Both sample at ``temperature`` with their own seeds: at 0 two deterministic
    engines would replay the same two games. Returns the match summary
    (wins, win rate with its 95% interval, Elo) without the per-game results.
    """
    config = MatchConfig(black=gtp_command(new, temperature, seed),
                         white=gtp_command(start, temperature, seed + 1),
                         games=games, size=NETWORK_SIZE, komi=komi, referee=referee,
                         max_moves=max_moves, sgf_dir=str(sgf_dir) if sgf_dir else None)
    summary = run_match(config, show_progress=sys.stderr.isatty())
    summary.pop("results")
    return {"method": "goai match", "temperature": temperature, **summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="starting checkpoint (default: the bundled model)")
    parser.add_argument("--out", type=Path, required=True, help="folder for model.pt and the pool")
    parser.add_argument("--minutes", type=float, default=5.0, help="self-play budget (default 5)")
    parser.add_argument("--games", type=int, default=16, help="games per update (default 16)")
    parser.add_argument("--lr", type=float, default=1e-5,
                        help="SGD learning rate (default 1e-5; see the docstring on 1e-3 and 1e-4)")
    parser.add_argument("--max-moves", type=int, default=400,
                        help="cut games here and count them by area (default 400)")
    parser.add_argument("--komi", type=float, default=7.5)
    parser.add_argument("--snapshot-every", type=int, default=5,
                        help="updates between snapshots joining the opponent pool (default 5)")
    parser.add_argument("--eval-games", type=int, default=40,
                        help="goai match games against the starting model at the end "
                             "(default 40; 0 skips)")
    parser.add_argument("--eval-temperature", type=float, default=1.0,
                        help="both engines sample at this temperature in the match (default 1)")
    parser.add_argument("--referee", default="gnugo",
                        help="the match's referee: gnugo (default), none, or a GTP command")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    start_path = args.model or default_model_path()
    loaded = load_model(start_path)
    model = copy.deepcopy(loaded.model)  # stays in eval mode: see the docstring on batch norm
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    pool = [start_path]
    frozen: dict[Path, PolicyOpponent] = {}
    envs = [GoEnv(NETWORK_SIZE, args.komi, PoolOpponent(pool, frozen, args.seed + i),
                  agent_color="random", feature_set=loaded.feature_set, max_moves=args.max_moves)
            for i in range(args.games)]

    began = time.monotonic()
    updates = games = moves = learner_moves = 0
    learner_score = 0.0
    probe: tuple[np.ndarray, np.ndarray] | None = None
    history: list[dict] = []
    while True:  # at least one update, then as many as the budget allows
        batch, outcomes, played = play_batch(model, envs, args.seed + games, generator)
        if probe is None:  # up to 256 positions of the first batch, spread over its games
            rows = np.linspace(0, len(batch.actions) - 1, min(256, len(batch.actions)))
            rows = rows.astype(int)
            probe = (np.stack([batch.planes[i] for i in rows]),
                     np.stack([batch.masks[i] for i in rows]))
        reinforce_step(model, optimizer, batch, outcomes)
        updates += 1
        games += len(outcomes)
        moves += played
        learner_moves += len(batch.actions)
        learner_score += sum(outcomes)
        kl = kl_from_start(loaded.model, model, *probe)
        history.append({"update": updates, "games": games, "mean_outcome": float(np.mean(outcomes)),
                        "kl_from_start": round(kl, 5)})
        print(f"update {updates}: {games} games, learner vs pool {np.mean(outcomes):+.2f}, "
              f"KL from start {kl:.4f}", file=sys.stderr, flush=True)
        if updates % args.snapshot_every == 0:
            snapshot = args.out / "pool" / f"update-{updates:05d}.pt"
            save_checkpoint(snapshot, model, loaded.feature_set, {"reinforce_updates": updates})
            pool.append(snapshot)
        if time.monotonic() - began >= args.minutes * 60:
            break
    minutes = (time.monotonic() - began) / 60

    out_model = args.out / "model.pt"
    save_checkpoint(out_model, model, loaded.feature_set, {
        "reinforce": {"start_model": str(start_path), "updates": updates, "games": games,
                      "learner_moves": learner_moves, "lr": args.lr, "minutes": minutes},
        "start_training": loaded.training,
    })
    report = {
        "start_model": str(start_path),
        "model": str(out_model),
        "minutes": round(minutes, 2),
        "updates": updates,
        "games": games,
        "mean_game_moves": round(moves / max(games, 1), 1),
        "learner_mean_outcome_vs_pool": round(learner_score / max(games, 1), 3),
        "pool_size": len(pool),
        "kl_from_start": history[-1]["kl_from_start"],
        "history": history,
    }
    if args.eval_games:
        report["evaluation"] = evaluate(out_model, start_path, args.eval_games,
                                        args.eval_temperature, args.komi, args.max_moves,
                                        args.referee, args.seed + 1_000_000, args.out / "match")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
