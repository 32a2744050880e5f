"""Drives the demo: submit the example job, preempt it part-way, follow
it to the end, then print the attempts and the loss around the resume."""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOIST = os.path.join(ROOT, "build", "src", "cli", "hoist")
JOB = os.path.join(ROOT, "examples", "charlm", "job.yaml")
LOSS_LINE = re.compile(r"step[ =:]+(\d+)\b.*?loss[ =:]+([0-9]+\.[0-9]+)")


def hoist(*args, capture=True):
    proc = subprocess.run([HOIST] + list(args), capture_output=capture,
                          text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr or "")
        raise SystemExit("demo: 'hoist %s' failed with exit code %d"
                         % (" ".join(args), proc.returncode))
    return proc.stdout


def show(job_id):
    return json.loads(hoist("show", job_id, "--json"))


def stop_hoistd(home):
    """Stops the background hoistd of the demo's state folder, if any."""
    try:
        with open(os.path.join(home, "hoistd.url")) as f:
            url = f.read().strip()
        with urllib.request.urlopen(url + "/v1/health", timeout=2) as resp:
            pid = json.load(resp)["pid"]
    except (OSError, ValueError, KeyError):
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if not os.path.exists("/proc/%d" % pid):
            return
        time.sleep(0.1)


def curve(text):
    return [(int(m.group(1)), float(m.group(2)))
            for m in LOSS_LINE.finditer(text)]


def plot(points, resume_step, width=60, height=12):
    """Prints an ASCII loss curve with the resume marked by '|'."""
    if not points:
        return
    steps = [s for s, _ in points]
    losses = [l for _, l in points]
    lo, hi = min(losses), max(losses)
    first, last = steps[0], steps[-1]
    span = max(last - first, 1)
    grid = [[" "] * width for _ in range(height)]
    col_resume = int((resume_step - first) / span * (width - 1))
    for row in grid:
        if 0 <= col_resume < width:
            row[col_resume] = "|"
    for step, loss in points:
        col = int((step - first) / span * (width - 1))
        row = int((hi - loss) / max(hi - lo, 1e-9) * (height - 1))
        grid[row][col] = "*"
    for i, row in enumerate(grid):
        label = hi - (hi - lo) * i / (height - 1)
        print("  %6.3f %s" % (label, "".join(row)))
    print("         step %d%sstep %d   ('|' = resumed at step %d)"
          % (first, " " * (width - 20), last, resume_step))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preempt-at", type=int, default=200,
                        help="preempt once the job reports this step")
    parser.add_argument("--grace", type=int, default=20,
                        help="seconds the job gets to save a checkpoint")
    args = parser.parse_args()

    home = os.path.join(ROOT, ".hoist-demo")
    stop_hoistd(home)
    shutil.rmtree(home, ignore_errors=True)
    os.environ["HOIST_HOME"] = home
    os.environ.pop("HOIST_URL", None)

    print("== submitting %s (hoist starts a background hoistd)"
          % os.path.relpath(JOB, ROOT))
    job_id = json.loads(hoist("run", JOB, "--detach", "--json"))["id"]
    print("   job %s queued; state folder %s" % (job_id, home))

    print("== waiting for step %d, then preempting the instance"
          % args.preempt_at)
    while True:
        job = show(job_id)
        attempt = job["attempts"][-1] if job["attempts"] else None
        if job["state"] in ("succeeded", "failed", "cancelled"):
            raise SystemExit("demo: the job ended before the preemption; "
                             "use a smaller --preempt-at")
        if (attempt and attempt["state"] == "running" and
                (job["last_step"] or 0) >= args.preempt_at):
            break
        time.sleep(0.2)
    instance = attempt["instance_id"]
    print("   step %d on instance %s: preempting with %d s of grace"
          % (job["last_step"], instance, args.grace))
    hoist("instances", "preempt", instance, "--grace", str(args.grace))

    print("== following the job to the end")
    while True:
        job = show(job_id)
        if job["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.5)

    print()
    print(hoist("show", job_id))
    attempts = job["attempts"]
    if len(attempts) >= 2 and attempts[1]["resumed_from_step"] is not None:
        resume = attempts[1]["resumed_from_step"]
        before = [p for p in curve(hoist("logs", job_id, "--attempt", "1"))
                  if p[0] <= resume]
        # The first line of attempt 2 repeats the restored step and loss.
        after = [p for p in curve(hoist("logs", job_id, "--attempt", "2"))
                 if p[0] > resume]
        print("== attempt 2 resumed from step %d; loss around the resume:"
              % resume)
        for step, loss in before[-6:]:
            print("   step %5d  loss %.4f   (attempt 1)" % (step, loss))
        print("   ---------- preempted; attempt 2 restores step %d ----------"
              % resume)
        for step, loss in after[:6]:
            print("   step %5d  loss %.4f   (attempt 2)" % (step, loss))
        print()
        plot(before + after, resume)
    print()
    print("== the end of the last attempt's output:")
    tail = hoist("logs", job_id).rstrip().splitlines()[-8:]
    print("\n".join("   " + line for line in tail))
    stop_hoistd(home)
    return 0 if job["state"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
