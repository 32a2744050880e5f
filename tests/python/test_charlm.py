"""Tests of examples/charlm/train.py run as hoist-agent runs it.

Each test starts train.py in a subprocess with the contract environment,
so they need numpy (Debian python3-numpy) and /usr/share/dict/words
(Debian wamerican) for the interpreter running the tests.
Run with: /usr/bin/python3 -m unittest discover -s tests/python
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "charlm"
TRAIN = EXAMPLE_DIR / "train.py"
STEPS = 600


def require_dependencies() -> None:
    """Fail with the install command when numpy or the word list is missing."""
    if importlib.util.find_spec("numpy") is None:
        raise AssertionError(f"numpy is missing for {sys.executable}. "
                             f"Install python3-numpy and run the tests "
                             f"with /usr/bin/python3.")
    if not Path("/usr/share/dict/words").is_file():
        raise AssertionError("/usr/share/dict/words is missing. Install the "
                             "Debian package wamerican.")


class Attempt:
    """One attempt's folders and environment, as hoist-agent prepares them."""

    def __init__(self, root: Path, name: str, number: int = 1,
                 resume_dir: Path | None = None,
                 resume_step: int | None = None) -> None:
        self.checkpoints = root / name / "checkpoints"
        self.checkpoints.mkdir(parents=True)
        self.metrics = root / name / "metrics.jsonl"
        self.env = dict(os.environ)
        self.env.update({
            "HOIST_JOB_ID": "j-0c4a1b2d",
            "HOIST_ATTEMPT": str(number),
            "HOIST_CHECKPOINT_DIR": str(self.checkpoints),
            "HOIST_RESUME_DIR": "" if resume_dir is None else str(resume_dir),
            "HOIST_RESUME_STEP": "" if resume_step is None
            else str(resume_step),
            "HOIST_METRICS_FILE": str(self.metrics),
            "HOIST_CHECKPOINT_INTERVAL": "3600",
        })

    def command(self, *args: str) -> list[str]:
        return [sys.executable, str(TRAIN), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), cwd=EXAMPLE_DIR,
                              env=self.env, capture_output=True, text=True,
                              timeout=120)

    def metric_lines(self) -> list[dict[str, float]]:
        if not self.metrics.exists():
            return []
        return [json.loads(line) for line in
                self.metrics.read_text().splitlines()]

    def steps(self) -> list[int]:
        """Return the published checkpoint steps, in increasing order."""
        names = os.listdir(self.checkpoints)
        for name in names:
            if not name.startswith("step-"):
                raise AssertionError(f"unexpected entry {name} in "
                                     f"{self.checkpoints}")
        return sorted(int(name[len("step-"):]) for name in names)


class CharLMTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls) -> None:
        require_dependencies()
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = Path(cls._tmp.name)
        cls.reference = Attempt(cls.root, "reference")
        result = cls.reference.run("--steps", str(STEPS))
        if result.returncode != 0:
            raise AssertionError(f"reference run failed:\n{result.stderr}")
        cls.reference_output = result.stdout

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def setUp(self) -> None:
        self._case_tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._case_tmp.cleanup)
        self.case_root = Path(self._case_tmp.name)

    def assertCloseLoss(self, actual: float, expected: float,
                        relative: float) -> None:
        self.assertLessEqual(abs(actual - expected), relative * expected,
                             f"loss {actual} differs from {expected} by more "
                             f"than {relative:.0%}")

    def test_loss_decreases(self) -> None:
        lines = self.reference.metric_lines()
        self.assertEqual(lines[0]["step"], 10)
        self.assertEqual(lines[-1]["step"], STEPS)
        self.assertGreater(lines[0]["loss"], 3.0)
        self.assertLess(lines[-1]["loss"], 2.4)

    def test_checkpoints_and_samples(self) -> None:
        self.assertEqual(self.reference.steps(), list(range(50, STEPS + 1, 50)))
        self.assertTrue((self.reference.checkpoints / f"step-{STEPS}" /
                         "state.npz").is_file())
        samples = [line for line in self.reference_output.splitlines()
                   if line.startswith("samples: ")]
        self.assertEqual(len(samples), 1)
        words = samples[0].split()[1:]
        self.assertEqual(len(words), 8)
        for word in words:
            self.assertRegex(word, r"^[a-z]*$")

    def test_split_run_matches_whole_run(self) -> None:
        """Training 300 steps, then 300 more from the checkpoint, is exact."""
        first = Attempt(self.case_root, "first")
        result = first.run("--steps", str(STEPS // 2))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(first.steps()[-1], STEPS // 2)

        second = Attempt(self.case_root, "second", number=2,
                         resume_dir=first.checkpoints / f"step-{STEPS // 2}",
                         resume_step=STEPS // 2)
        result = second.run("--steps", str(STEPS))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"resumed from step {STEPS // 2}", result.stdout)

        combined = first.metric_lines() + second.metric_lines()
        self.assertEqual(combined, self.reference.metric_lines())
        self.assertEqual(second.steps(), list(range(350, STEPS + 1, 50)))
        self.assertEqual(
            (second.checkpoints / f"step-{STEPS}" / "state.npz").read_bytes(),
            (self.reference.checkpoints / f"step-{STEPS}" /
             "state.npz").read_bytes())

    def test_sigterm_then_resume(self) -> None:
        first = Attempt(self.case_root, "preempted")
        child = subprocess.Popen(
            first.command("--steps", str(STEPS), "--step-delay", "0.02"),
            cwd=EXAMPLE_DIR, env=first.env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                lines = first.metric_lines()
                if lines and lines[-1]["step"] >= 120:
                    break
                time.sleep(0.05)
            else:
                self.fail("train.py did not reach step 120 within 60 s")
            child.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            stdout, stderr = child.communicate(timeout=30)
            exit_seconds = time.monotonic() - signalled
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()

        self.assertEqual(child.returncode, 0, stderr)
        self.assertLess(exit_seconds, 5.0)
        stopped_at = first.steps()[-1]
        self.assertGreaterEqual(stopped_at, 120)
        self.assertLess(stopped_at, STEPS)
        self.assertIn(f"stopped on request at step {stopped_at}", stdout)
        before = first.metric_lines()
        self.assertEqual(before[-1]["step"], stopped_at)

        second = Attempt(self.case_root, "resumed", number=2,
                         resume_dir=first.checkpoints / f"step-{stopped_at}",
                         resume_step=stopped_at)
        result = second.run("--steps", str(STEPS))
        self.assertEqual(result.returncode, 0, result.stderr)
        after = second.metric_lines()
        self.assertGreater(after[0]["step"], stopped_at)
        self.assertCloseLoss(after[0]["loss"], before[-1]["loss"], 0.05)

        reference = self.reference.metric_lines()
        self.assertEqual(after[-1]["step"], STEPS)
        self.assertCloseLoss(after[-1]["loss"], reference[-1]["loss"], 0.01)

    def test_resume_rejects_other_model(self) -> None:
        resume_dir = self.reference.checkpoints / "step-50"
        attempt = Attempt(self.case_root, "mismatch", number=2,
                          resume_dir=resume_dir, resume_step=50)
        result = attempt.run("--steps", "60", "--hidden", "64")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--hidden", result.stderr)
        self.assertEqual(attempt.steps(), [])

    def test_resume_rejects_wrong_step(self) -> None:
        resume_dir = self.reference.checkpoints / "step-50"
        attempt = Attempt(self.case_root, "wrong-step", number=2,
                          resume_dir=resume_dir, resume_step=100)
        result = attempt.run("--steps", "120")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("HOIST_RESUME_STEP", result.stderr)

    def test_malformed_resume_step(self) -> None:
        attempt = Attempt(self.case_root, "malformed", number=2)
        attempt.env["HOIST_RESUME_DIR"] = str(self.reference.checkpoints)
        attempt.env["HOIST_RESUME_STEP"] = "abc"
        result = attempt.run("--steps", "10")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("HOIST_RESUME_STEP='abc'", result.stderr)

    def test_missing_word_list(self) -> None:
        attempt = Attempt(self.case_root, "no-words")
        missing = self.case_root / "no-such-words"
        result = attempt.run("--steps", "10", "--words", str(missing))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(str(missing), result.stderr)
        self.assertIn("--words", result.stderr)

    def test_missing_default_names_package(self) -> None:
        spec = importlib.util.spec_from_file_location("charlm_train", TRAIN)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.DEFAULT_WORDS = str(self.case_root / "words")
        with self.assertRaises(SystemExit) as caught:
            module.load_words(module.DEFAULT_WORDS)
        self.assertIn("wamerican", str(caught.exception.code))


if __name__ == "__main__":
    unittest.main()
