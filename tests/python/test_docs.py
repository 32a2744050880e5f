"""Run the complete minimal example of docs/workload-contract.md.

Run with: /usr/bin/python3 -m unittest discover -s tests/python
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "workload-contract.md"
HEADING = "## A complete minimal example"


def extract_example() -> str:
    """Return the first Python code block after HEADING in the document."""
    text = DOC.read_text()
    start = text.index(HEADING)
    match = re.search(r"```python\n(.*?)```", text[start:], re.DOTALL)
    if match is None:
        raise AssertionError(f"no python code block after {HEADING!r} in "
                             f"{DOC}")
    return match.group(1)


class MinimalExampleTest(unittest.TestCase):

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name)
        self.script = self.root / "fit.py"
        self.script.write_text(extract_example())

    def run_attempt(self, name: str, resume: Path | None = None,
                    step: int | None = None,
                    interval: str = "3600") -> tuple[Path, Path, str]:
        checkpoints = self.root / name / "checkpoints"
        checkpoints.mkdir(parents=True)
        metrics = self.root / name / "metrics.jsonl"
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": str(REPO / "python"),
            "HOIST_JOB_ID": "j-5e6f7a8b",
            "HOIST_ATTEMPT": "1" if resume is None else "2",
            "HOIST_CHECKPOINT_DIR": str(checkpoints),
            "HOIST_RESUME_DIR": "" if resume is None else str(resume),
            "HOIST_RESUME_STEP": "" if step is None else str(step),
            "HOIST_METRICS_FILE": str(metrics),
            "HOIST_CHECKPOINT_INTERVAL": interval,
        })
        result = subprocess.run([sys.executable, str(self.script)],
                                 cwd=self.root, env=env, capture_output=True,
                                 text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return checkpoints, metrics, result.stdout

    def test_fits_and_checkpoints(self) -> None:
        checkpoints, metrics, stdout = self.run_attempt("whole")
        self.assertEqual(os.listdir(checkpoints), ["step-2000"])
        self.assertEqual(stdout, "w=3.000 b=1.000\n")
        lines = [json.loads(line) for line in metrics.read_text().splitlines()]
        self.assertEqual([line["step"] for line in lines],
                         list(range(100, 2001, 100)))
        self.assertLess(lines[-1]["loss"], 1e-6)

    def test_resume_matches_whole_run(self) -> None:
        whole, _, _ = self.run_attempt("whole")

        # A tiny interval makes the script checkpoint every few steps.
        frequent, _, _ = self.run_attempt("frequent", interval="0.0001")
        steps = sorted(int(name[len("step-"):])
                       for name in os.listdir(frequent))
        self.assertGreater(len(steps), 2)
        self.assertEqual(steps[-1], 2000)
        middle = steps[len(steps) // 2]
        self.assertLess(middle, 2000)

        resumed, metrics, stdout = self.run_attempt(
            "resumed", resume=frequent / f"step-{middle}", step=middle)
        self.assertEqual(os.listdir(resumed), ["step-2000"])
        self.assertEqual(stdout, "w=3.000 b=1.000\n")
        first_logged = json.loads(metrics.read_text().splitlines()[0])
        self.assertGreater(first_logged["step"], middle)
        self.assertEqual((resumed / "step-2000" / "state.pkl").read_bytes(),
                         (whole / "step-2000" / "state.pkl").read_bytes())


if __name__ == "__main__":
    unittest.main()
