"""Train a character-level language model on English words with numpy.

The model predicts the next letter of a word from the previous --context
letters: an embedding per character, one tanh hidden layer and a softmax
over 26 letters plus '.', which marks the start and the end of a word.
It trains with Adam on minibatches drawn from /usr/share/dict/words
(Debian package wamerican) and runs on one CPU core in a few seconds.

The script follows the hoist workload contract (docs/workload-contract.md)
through python/hoist_contract.py: it logs the smoothed loss to the metrics
file, writes a checkpoint every --ckpt-every steps, every
HOIST_CHECKPOINT_INTERVAL seconds and on SIGTERM, and continues from
HOIST_RESUME_DIR when hoist restores a checkpoint. A checkpoint contains the
weights, the Adam moments, the data sampler's RNG state and the smoothed
loss, so a resumed run computes the same steps as an uninterrupted one.

Usage: /usr/bin/python3 train.py [--steps 600] [--ckpt-every 50] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

# Use the contract module of the repository this example belongs to.
_REPO_PYTHON = Path(__file__).resolve().parent.parent.parent / "python"
if (_REPO_PYTHON / "hoist_contract.py").is_file():
    sys.path.insert(0, str(_REPO_PYTHON))

from hoist_contract import Run  # noqa: E402

ALPHABET = ".abcdefghijklmnopqrstuvwxyz"
"""Model vocabulary: index 0 ('.') is the word boundary."""

DEFAULT_WORDS = "/usr/share/dict/words"
WORDS_PACKAGE = "wamerican"
CHECKPOINT_FILE = "state.npz"
CHECKPOINT_FORMAT = 1
EMA_DECAY = 0.95
"""Weight of the previous value in the smoothed loss (about 20 batches)."""

PARAM_NAMES = ("embedding", "w1", "b1", "w2", "b2")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train a character-level MLP language model with numpy.")
    parser.add_argument("--steps", type=int, default=600,
                        help="total optimizer steps (default 600)")
    parser.add_argument("--ckpt-every", type=int, default=50,
                        help="write a checkpoint every N steps, 0 for none "
                             "besides the time interval, SIGTERM and the "
                             "end (default 50)")
    parser.add_argument("--log-every", type=int, default=10,
                        help="log the smoothed loss every N steps "
                             "(default 10)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the initial weights, the minibatch "
                             "order and the samples (default 1)")
    parser.add_argument("--step-delay", type=float, default=0.0,
                        help="seconds to sleep after each step, to make a "
                             "run slow enough to interrupt (default 0)")
    parser.add_argument("--batch", type=int, default=256,
                        help="minibatch size (default 256)")
    parser.add_argument("--lr", type=float, default=0.01,
                        help="Adam learning rate (default 0.01)")
    parser.add_argument("--context", type=int, default=3,
                        help="characters of context (default 3)")
    parser.add_argument("--embedding", type=int, default=16,
                        help="embedding size per character (default 16)")
    parser.add_argument("--hidden", type=int, default=128,
                        help="hidden layer size (default 128)")
    parser.add_argument("--samples", type=int, default=8,
                        help="words to generate at the end (default 8)")
    parser.add_argument("--words", default=DEFAULT_WORDS,
                        help=f"word list, one word a line (default "
                             f"{DEFAULT_WORDS})")
    args = parser.parse_args(argv)

    for name in ("steps", "log_every", "batch", "context", "embedding",
                 "hidden"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.ckpt_every < 0 or args.samples < 0:
        parser.error("--ckpt-every and --samples must not be negative")
    if not (math.isfinite(args.step_delay) and args.step_delay >= 0):
        parser.error("--step-delay must be a non-negative number of seconds")
    if not (math.isfinite(args.lr) and args.lr > 0):
        parser.error("--lr must be a positive number")
    return args


def load_words(path: str) -> list[str]:
    """Read the lowercase ASCII words of a word list, sorted and unique."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        if path == DEFAULT_WORDS:
            fix = (f"Install the Debian package {WORDS_PACKAGE} (apt-get "
                   f"install {WORDS_PACKAGE}) or pass --words FILE.")
        else:
            fix = "Pass an existing file with --words FILE."
        raise SystemExit(f"train.py: word list {path} not found. {fix}") \
            from None
    words = sorted({w for w in text.split() if re.fullmatch(r"[a-z]+", w)})
    if not words:
        raise SystemExit(f"train.py: word list {path} contains no lowercase "
                         f"ASCII words")
    return words


def build_dataset(words: list[str], context: int) -> tuple[np.ndarray,
                                                           np.ndarray]:
    """Return the (context, next character) pairs of all words.

    Each word is padded with ``context`` boundary characters in front and
    one at the end, so the first pair predicts the first letter from
    '...' and the last predicts the end from the last letters.
    """
    pad = ALPHABET[0] * context
    text = "".join(pad + w + ALPHABET[0] for w in words)
    codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    table = np.zeros(256, dtype=np.int64)
    table[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = \
        np.arange(len(ALPHABET))
    ids = table[codes]

    # A position is a target unless it is one of a word's padding characters.
    is_target = np.ones(len(ids), dtype=bool)
    starts = np.cumsum([0] + [len(w) + context + 1 for w in words[:-1]])
    for offset in range(context):
        is_target[starts + offset] = False
    targets = np.flatnonzero(is_target)
    windows = np.lib.stride_tricks.sliding_window_view(ids, context)
    return windows[targets - context].copy(), ids[targets]


def init_params(rng: np.random.Generator, context: int, embedding: int,
                hidden: int) -> dict[str, np.ndarray]:
    vocab = len(ALPHABET)
    fan_in = context * embedding
    return {
        "embedding": rng.normal(0.0, 1.0, (vocab, embedding)),
        "w1": rng.normal(0.0, 1.0 / math.sqrt(fan_in), (fan_in, hidden)),
        "b1": np.zeros(hidden),
        # Small output weights start the loss near ln(27), the loss of a
        # uniform guess, instead of a confidently wrong one.
        "w2": rng.normal(0.0, 0.01, (hidden, vocab)),
        "b2": np.zeros(vocab),
    }


def forward_backward(params: dict[str, np.ndarray], xb: np.ndarray,
                     yb: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Return the mean cross-entropy of a batch and its gradients."""
    batch, context = xb.shape
    emb = params["embedding"][xb].reshape(batch, -1)
    hidden = np.tanh(emb @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]

    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    probs = exp / exp.sum(axis=1, keepdims=True)
    rows = np.arange(batch)
    loss = float(-np.log(probs[rows, yb]).mean())

    dlogits = probs
    dlogits[rows, yb] -= 1.0
    dlogits /= batch
    dhidden = dlogits @ params["w2"].T
    dpre = dhidden * (1.0 - hidden * hidden)
    demb = (dpre @ params["w1"].T).reshape(batch, context, -1)
    dembedding = np.zeros_like(params["embedding"])
    np.add.at(dembedding, xb, demb)
    grads = {
        "embedding": dembedding,
        "w1": emb.T @ dpre,
        "b1": dpre.sum(axis=0),
        "w2": hidden.T @ dlogits,
        "b2": dlogits.sum(axis=0),
    }
    return loss, grads


class Adam:
    """Adam optimizer (Kingma and Ba, 2015) with bias correction."""

    def __init__(self, params: dict[str, np.ndarray], lr: float,
                 beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def update(self, params: dict[str, np.ndarray],
               grads: dict[str, np.ndarray]) -> None:
        """Apply one step to params in place."""
        self.t += 1
        correction1 = 1.0 - self.beta1 ** self.t
        correction2 = 1.0 - self.beta2 ** self.t
        for name, grad in grads.items():
            m, v = self.m[name], self.v[name]
            m *= self.beta1
            m += (1.0 - self.beta1) * grad
            v *= self.beta2
            v += (1.0 - self.beta2) * grad * grad
            params[name] -= self.lr * (m / correction1) / (
                np.sqrt(v / correction2) + self.eps)


def model_config(args: argparse.Namespace) -> dict[str, int]:
    """Return the hyperparameters that a checkpoint must match to resume."""
    return {"format": CHECKPOINT_FORMAT, "vocab": len(ALPHABET),
            "context": args.context, "embedding": args.embedding,
            "hidden": args.hidden}


def save_checkpoint(folder: Path, step: int, params: dict[str, np.ndarray],
                    adam: Adam, data_rng: np.random.Generator,
                    loss_ema: float, config: dict[str, int]) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name in PARAM_NAMES:
        arrays[f"param_{name}"] = params[name]
        arrays[f"adam_m_{name}"] = adam.m[name]
        arrays[f"adam_v_{name}"] = adam.v[name]
    arrays["adam_t"] = np.array(adam.t)
    arrays["step"] = np.array(step)
    arrays["loss_ema"] = np.array(loss_ema)
    arrays["rng_state"] = np.array(json.dumps(data_rng.bit_generator.state))
    arrays["config"] = np.array(json.dumps(config, sort_keys=True))
    with open(folder / CHECKPOINT_FILE, "wb") as f:
        np.savez(f, **arrays)


def load_checkpoint(folder: Path, step: int, params: dict[str, np.ndarray],
                    adam: Adam, data_rng: np.random.Generator,
                    config: dict[str, int]) -> float:
    """Restore params, adam and data_rng in place and return the smoothed loss.

    Exits with a message when the file is missing or was written for
    another step or another model shape.
    """
    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        raise SystemExit(f"train.py: checkpoint file {path} not found. "
                         f"HOIST_RESUME_DIR must be a checkpoint folder "
                         f"written by this script.")
    with np.load(path, allow_pickle=False) as data:
        saved = json.loads(str(data["config"]))
        if saved != config:
            raise SystemExit(
                f"train.py: checkpoint {path} was written for model "
                f"{saved}, but this run has {config}. Pass the same "
                f"--context, --embedding and --hidden.")
        saved_step = int(data["step"])
        if saved_step != step:
            raise SystemExit(
                f"train.py: checkpoint {path} contains step {saved_step}, "
                f"but HOIST_RESUME_STEP is {step}. Resume from the "
                f"folder of that step.")
        for name in PARAM_NAMES:
            params[name] = data[f"param_{name}"].copy()
            adam.m[name] = data[f"adam_m_{name}"].copy()
            adam.v[name] = data[f"adam_v_{name}"].copy()
        adam.t = int(data["adam_t"])
        data_rng.bit_generator.state = json.loads(str(data["rng_state"]))
        return float(data["loss_ema"])


def sample_words(params: dict[str, np.ndarray], rng: np.random.Generator,
                 count: int, context: int, max_length: int = 24) -> list[str]:
    """Generate words letter by letter from the model's distribution."""
    words = []
    for _ in range(count):
        window = [0] * context
        letters = []
        while len(letters) < max_length:
            emb = params["embedding"][window].reshape(-1)
            hidden = np.tanh(emb @ params["w1"] + params["b1"])
            logits = hidden @ params["w2"] + params["b2"]
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
            index = int(rng.choice(len(ALPHABET), p=probs))
            if index == 0:
                break
            letters.append(ALPHABET[index])
            window = window[1:] + [index]
        words.append("".join(letters))
    return words


def train(args: argparse.Namespace, run: Run) -> None:
    """Train until --steps or until a stop request, checkpointing on the way."""
    config = model_config(args)
    words = load_words(args.words)
    inputs, targets = build_dataset(words, args.context)
    init_rng = np.random.default_rng([args.seed, 0])
    data_rng = np.random.default_rng([args.seed, 1])
    sample_rng = np.random.default_rng([args.seed, 2])
    params = init_params(init_rng, args.context, args.embedding, args.hidden)
    adam = Adam(params, args.lr)
    loss_ema = math.nan

    resume = run.resume()
    if resume is not None:
        loss_ema = load_checkpoint(resume.dir, resume.step, params, adam,
                                   data_rng, config)
        print(f"resumed from step {resume.step} ({resume.dir}), "
              f"loss {loss_ema:.4f}", flush=True)
    else:
        print(f"training on {len(words)} words ({len(targets)} examples), "
              f"{args.steps} steps", flush=True)

    def save(step: int) -> None:
        with run.checkpoint(step) as folder:
            save_checkpoint(folder, step, params, adam, data_rng, loss_ema,
                            config)

    def report(step: int) -> None:
        run.log(step, loss=loss_ema)
        elapsed = max(time.monotonic() - started, 1e-9)
        print(f"step {step}/{args.steps} loss {loss_ema:.4f} "
              f"({(step - run.start_step) / elapsed:.0f} steps/s)", flush=True)

    step = run.start_step
    started = time.monotonic()
    while step < args.steps and not run.stop_requested:
        batch = data_rng.integers(0, len(targets), size=args.batch)
        loss, grads = forward_backward(params, inputs[batch], targets[batch])
        adam.update(params, grads)
        step += 1
        loss_ema = loss if math.isnan(loss_ema) else (
            EMA_DECAY * loss_ema + (1.0 - EMA_DECAY) * loss)

        if step % args.log_every == 0:
            report(step)
        if step < args.steps and run.should_checkpoint(
                step, args.ckpt_every or None):
            save(step)
        if step < args.steps and args.step_delay > 0:
            time.sleep(args.step_delay)

    # Both the end of training and a stop request land here, and a SIGTERM
    # may have arrived during the sleep, after the checks above.
    if step > run.start_step:
        if step % args.log_every != 0:
            report(step)
        if step != run.last_checkpoint_step:
            save(step)

    if step < args.steps:
        if step == run.start_step:
            print(f"stopped on request before step {step + 1}. No step "
                  f"was trained, so no checkpoint was written.", flush=True)
        else:
            print(f"stopped on request at step {step} and wrote "
                  f"checkpoint step-{step}", flush=True)
        return
    if step == run.start_step:
        print(f"nothing to train: the checkpoint is at step {step} of "
              f"{args.steps}", flush=True)
    if args.samples:
        print("samples: " + " ".join(
            sample_words(params, sample_rng, args.samples, args.context)),
            flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # Created before the data is loaded so that an early SIGTERM only sets
    # the stop flag instead of killing the process.
    with Run() as run:
        train(args, run)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
