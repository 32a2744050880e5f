"""Workload side of the hoist job contract, for Python training loops.

hoist runs a job's command with these environment variables (see
docs/workload-contract.md):

    HOIST_JOB_ID, HOIST_ATTEMPT        the job id and the attempt number
    HOIST_CHECKPOINT_DIR               where the command writes step-<N> folders
    HOIST_RESUME_DIR, HOIST_RESUME_STEP  the restored checkpoint and its step,
                                       both empty on a fresh start
    HOIST_METRICS_FILE                 one JSON object per line is appended here
    HOIST_CHECKPOINT_INTERVAL          seconds between periodic checkpoints

and sends SIGTERM to the command's process group on preemption. ``Run``
reads these variables, writes checkpoints with the folder rule the agent
expects and turns SIGTERM into a flag that the loop polls::

    from hoist_contract import Run

    run = Run()
    state = run.resume()
    if state is not None:
        load(state.dir)
    for step in range(run.start_step + 1, total_steps + 1):
        loss = train_one_batch()
        run.log(step, loss=loss)
        stop = run.stop_requested
        if stop or step == total_steps or run.should_checkpoint(step):
            with run.checkpoint(step) as folder:
                save(folder)
        if stop:
            break

A checkpoint named ``step-<N>`` contains the state after N completed steps,
so ``start_step`` is N after a resume from it and 0 on a fresh start.
Reading ``stop_requested`` once per step guarantees that the step the loop
stops at is saved, even when SIGTERM arrives between the two checks.

Outside hoist (HOIST_JOB_ID unset) the same code runs with local defaults
under ``./.hoist-local``: checkpoints go to ``.hoist-local/checkpoints``,
metrics to ``.hoist-local/metrics.jsonl``, and a new run resumes from the
newest ``step-<N>`` folder there. Delete the folder to start fresh.

Only the Python 3.11 standard library is used.
"""

from __future__ import annotations

import contextlib
import json
import math
import operator
import os
import re
import shutil
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_INTERVAL_SECONDS",
    "DEFAULT_LOCAL_DIR",
    "METRICS_LINE_MAX",
    "Resume",
    "Run",
]

#: Folder, relative to the working directory, used when HOIST_JOB_ID is unset.
DEFAULT_LOCAL_DIR = ".hoist-local"

#: Checkpoint interval in seconds when HOIST_CHECKPOINT_INTERVAL is unset
#: outside hoist. Under hoist the variable is required.
DEFAULT_INTERVAL_SECONDS = 300.0

#: Maximum metrics line length in bytes, newline included. hoist-agent skips
#: longer lines (HOIST_METRICS_LINE_MAX in src/worker/metrics.h).
METRICS_LINE_MAX = 65536

_STEP_FOLDER = re.compile(r"step-(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Resume:
    """Checkpoint that a run continues from."""

    dir: Path
    """Folder with the checkpoint's files, as the job wrote them."""

    step: int
    """Number of steps completed when the checkpoint was written."""


def _get(environ: Mapping[str, str], name: str) -> str:
    """Return the variable's value without surrounding whitespace, or ''."""
    return environ.get(name, "").strip()


def _parse_count(name: str, text: str, minimum: int, meaning: str) -> int:
    """Parse a decimal integer of at least ``minimum`` from variable ``name``."""
    if not _DECIMAL.fullmatch(text) or int(text) < minimum:
        raise ValueError(
            f"{name}={text!r} is invalid: expected {meaning}, "
            f"a decimal integer of at least {minimum}"
        )
    return int(text)


def _parse_interval(name: str, text: str) -> float:
    """Parse a positive, finite number of seconds from variable ``name``."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            f"{name}={text!r} is invalid: expected the checkpoint interval "
            f"as a positive number of seconds, for example 30"
        )
    return seconds


def _find_latest_checkpoint(folder: Path) -> Resume | None:
    """Return the complete ``step-<N>`` folder with the largest N, or None."""
    best: Resume | None = None
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return None
    for entry in entries:
        match = _STEP_FOLDER.fullmatch(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        step = int(match.group(1))
        if best is None or step > best.step:
            best = Resume(dir=Path(entry.path), step=step)
    return best


def _fsync_path(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_tree(root: Path) -> None:
    """Fsync every file and folder below root, and root itself.

    Raises ValueError for a symbolic link or a special file, because the
    agent uploads only regular files and rejects links.
    """
    for folder, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            path = Path(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode)
                                          or stat.S_ISDIR(mode)):
                raise ValueError(
                    f"checkpoint contains {path}, which is not a regular "
                    f"file or folder. hoist uploads only regular files, "
                    f"so copy the target instead of linking it."
                )
            if stat.S_ISREG(mode):
                _fsync_path(path, os.O_RDONLY)
        _fsync_path(Path(folder), os.O_RDONLY | os.O_DIRECTORY)


def _json_value(value: object) -> object:
    """Convert a metric value into something ``json`` can write.

    NaN and infinities become None (JSON null) because JSON has no such
    numbers. Objects with ``item()`` (numpy and torch scalars) are unwrapped.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)
    if callable(item):
        return _json_value(item())
    raise TypeError(f"{type(value).__name__} is not a number or a string")


class Run:
    """One attempt of a hoist job, as seen from the training command.

    The constructor reads and validates the environment and, when
    ``handle_sigterm`` is true, installs a SIGTERM handler that only sets
    ``stop_requested``. ``close()`` (or leaving a ``with Run() as run:``
    block) restores the previous handler and closes the metrics file.

    Attributes:
        job_id: Job id, or '' outside hoist.
        local: True when the command runs outside hoist (HOIST_JOB_ID unset).
        attempt: Attempt number, from 1 (1 outside hoist).
        checkpoint_dir: Folder that receives the ``step-<N>`` folders.
        metrics_file: File that ``log()`` appends JSON lines to.
        checkpoint_interval: Seconds between periodic checkpoints.
        start_step: Steps already completed: the resume step, or 0 on a
            fresh start.
        last_checkpoint_step: Step of the last checkpoint this run wrote,
            or None.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        local_dir: str | os.PathLike[str] = DEFAULT_LOCAL_DIR,
        handle_sigterm: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Read the contract variables from ``environ`` (default os.environ).

        ``local_dir`` is the folder for the defaults outside hoist.
        ``clock`` returns seconds and times the checkpoint interval.
        ``handle_sigterm`` must be false when the Run is created outside the
        main thread, because Python installs signal handlers only there.

        Raises ValueError, naming the variable, for a malformed variable or
        for a required one missing under hoist.
        """
        env = os.environ if environ is None else environ
        self._clock = clock
        self._stop = False
        self._metrics_fd: int | None = None
        self._previous_handler: object = None
        self._handler_installed = False

        self.job_id = _get(env, "HOIST_JOB_ID")
        self.local = self.job_id == ""
        local_root = Path(local_dir)

        attempt = _get(env, "HOIST_ATTEMPT")
        self.attempt = 1
        if attempt:
            self.attempt = _parse_count("HOIST_ATTEMPT", attempt, 1,
                                        "the attempt number")

        self.checkpoint_dir = self._required_path(
            env, "HOIST_CHECKPOINT_DIR", local_root / "checkpoints")
        self.metrics_file = self._required_path(
            env, "HOIST_METRICS_FILE", local_root / "metrics.jsonl")

        interval = _get(env, "HOIST_CHECKPOINT_INTERVAL")
        if interval:
            self.checkpoint_interval = _parse_interval(
                "HOIST_CHECKPOINT_INTERVAL", interval)
        elif self.local:
            self.checkpoint_interval = DEFAULT_INTERVAL_SECONDS
        else:
            raise ValueError(
                "HOIST_CHECKPOINT_INTERVAL is missing although HOIST_JOB_ID "
                "is set: hoist sets both, so check the agent's environment")

        self._resume = self._parse_resume(env)
        self.start_step = 0 if self._resume is None else self._resume.step
        self.last_checkpoint_step: int | None = None
        self._last_checkpoint_time = self._clock()

        if handle_sigterm:
            self._install_handler()

    def _required_path(self, env: Mapping[str, str], name: str,
                       local_default: Path) -> Path:
        value = _get(env, name)
        if value:
            return Path(value)
        if self.local:
            return local_default
        raise ValueError(
            f"{name} is missing although HOIST_JOB_ID is set: hoist sets "
            f"both, so check the agent's environment or unset HOIST_JOB_ID "
            f"to run locally")

    def _parse_resume(self, env: Mapping[str, str]) -> Resume | None:
        resume_dir = _get(env, "HOIST_RESUME_DIR")
        resume_step = _get(env, "HOIST_RESUME_STEP")
        if not resume_dir and not resume_step:
            if self.local:
                return _find_latest_checkpoint(self.checkpoint_dir)
            return None
        if not resume_dir:
            raise ValueError(
                f"HOIST_RESUME_STEP={resume_step!r} is set but "
                f"HOIST_RESUME_DIR is empty: set both or neither")
        if not resume_step:
            raise ValueError(
                f"HOIST_RESUME_DIR={resume_dir!r} is set but "
                f"HOIST_RESUME_STEP is empty: set both or neither")
        step = _parse_count("HOIST_RESUME_STEP", resume_step, 0,
                            "the step of the restored checkpoint")
        folder = Path(resume_dir)
        if not folder.is_dir():
            raise ValueError(
                f"HOIST_RESUME_DIR={resume_dir!r} is not a folder: it must "
                f"contain the restored checkpoint's files")
        return Resume(dir=folder, step=step)

    def _install_handler(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise ValueError(
                "Run(handle_sigterm=True) must be created in the main "
                "thread; pass handle_sigterm=False and call request_stop() "
                "from your own handler")
        self._previous_handler = signal.signal(signal.SIGTERM,
                                               self._on_sigterm)
        self._handler_installed = True

    def _on_sigterm(self, signum: int, frame: object) -> None:
        # Only set the flag: the loop does the I/O at a safe point.
        self._stop = True

    @property
    def stop_requested(self) -> bool:
        """True once SIGTERM arrived or ``request_stop()`` was called."""
        return self._stop

    def request_stop(self) -> None:
        """Make ``stop_requested`` true, as SIGTERM does."""
        self._stop = True

    def resume(self) -> Resume | None:
        """Return the checkpoint to continue from, or None on a fresh start.

        Under hoist it is HOIST_RESUME_DIR and HOIST_RESUME_STEP. Outside
        hoist it is the newest ``step-<N>`` folder in ``checkpoint_dir``.
        """
        return self._resume

    def log(self, step: int, **metrics: object) -> None:
        """Append ``{"step": step, **metrics}`` as one line to the metrics file.

        The line is written with a single write() call on a file opened
        with O_APPEND, so a reader never sees half a line from a complete
        call. NaN and infinities are written as null because JSON has no
        such numbers.

        Raises TypeError, naming the metric, for a value that is not a
        number, a string, a bool or None, and ValueError for a line longer
        than METRICS_LINE_MAX bytes, which the agent would skip.
        """
        record: dict[str, object] = {"step": self._check_step(step)}
        for name, value in metrics.items():
            try:
                record[name] = _json_value(value)
            except TypeError as exc:
                raise TypeError(f"metric {name!r}: {exc}") from None
        line = (json.dumps(record, allow_nan=False) + "\n").encode()
        if len(line) > METRICS_LINE_MAX:
            raise ValueError(
                f"metrics line for step {step} is {len(line)} bytes, more "
                f"than the maximum of {METRICS_LINE_MAX}. Log fewer or "
                f"shorter values.")

        if self._metrics_fd is None:
            self.metrics_file.parent.mkdir(parents=True, exist_ok=True)
            self._metrics_fd = os.open(
                self.metrics_file,
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        view = memoryview(line)
        while view:
            written = os.write(self._metrics_fd, view)
            view = view[written:]

    def should_checkpoint(self, step: int,
                          every_steps: int | None = None) -> bool:
        """Return whether the loop should write a checkpoint for ``step`` now.

        True when a stop was requested, when ``checkpoint_interval`` seconds
        passed since the last checkpoint (or since the start), or when
        ``every_steps`` (a positive integer or None) divides ``step``.
        Always False for the step of the checkpoint written last, so a stop
        right after a periodic checkpoint does not write the same step again.
        """
        step = self._check_step(step)
        if every_steps is not None and (isinstance(every_steps, bool)
                                        or not isinstance(every_steps, int)
                                        or every_steps <= 0):
            raise ValueError(f"every_steps {every_steps!r} is invalid: "
                             f"expected a positive int or None")
        if step == self.last_checkpoint_step:
            return False
        if self._stop:
            return True
        if every_steps is not None and step % every_steps == 0:
            return True
        elapsed = self._clock() - self._last_checkpoint_time
        return elapsed >= self.checkpoint_interval

    @contextlib.contextmanager
    def checkpoint(self, step: int) -> Iterator[Path]:
        """Yield an empty folder to save into, then publish it as ``step-<N>``.

        The folder is ``checkpoint_dir/.tmp-step-<N>-<pid>``. When the block
        ends normally, every file and folder in it is fsynced and it is
        renamed to ``step-<N>``, which is atomic within one file system.
        Then ``checkpoint_dir`` is fsynced. So a ``step-<N>`` folder is
        complete whenever it exists, and it survives a crash of the machine
        once this returns. When the block raises, the temporary folder is
        removed and the exception propagates.

        Raises FileExistsError when ``step-<N>`` already exists, and
        ValueError when the block left a symbolic link or a special file.
        """
        step = self._check_step(step)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        target = self.checkpoint_dir / f"step-{step}"
        if target.exists():
            raise FileExistsError(
                f"checkpoint {target} already exists. Write each step "
                f"once, or delete the folder before writing it again.")
        temporary = self.checkpoint_dir / f".tmp-step-{step}-{os.getpid()}"
        if temporary.exists():
            shutil.rmtree(temporary)
        temporary.mkdir()

        try:
            yield temporary
            _sync_tree(temporary)
            os.rename(temporary, target)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        _fsync_path(self.checkpoint_dir, os.O_RDONLY | os.O_DIRECTORY)

        self.last_checkpoint_step = step
        self._last_checkpoint_time = self._clock()

    def close(self) -> None:
        """Close the metrics file and restore the previous SIGTERM handler."""
        if self._metrics_fd is not None:
            os.close(self._metrics_fd)
            self._metrics_fd = None
        if self._handler_installed:
            # getsignal() returns None for a handler not set from Python.
            previous = self._previous_handler
            if previous is None:
                previous = signal.SIG_DFL
            signal.signal(signal.SIGTERM, previous)
            self._handler_installed = False

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _check_step(step: int) -> int:
        """Return step as an int, accepting numpy integers.

        Raises ValueError for a negative step or a value that is not an
        integer.
        """
        try:
            value = operator.index(step)
        except TypeError:
            value = -1
        if isinstance(step, bool) or value < 0:
            raise ValueError(
                f"step {step!r} is invalid: expected a non-negative integer")
        return value
