"""End to end on S3: an instance killed in the middle of a multipart
checkpoint upload.

The job writes a small checkpoint, then a 64 MiB one that goes up as a
multipart upload in 5 MiB parts.  Once a few parts have reached the store,
the test kills every process of the instance (agent, transfer child and
command) with SIGKILL.  It then checks that the cut checkpoint never
becomes visible, that the next attempt resumes from the small one, and
that hoistd aborts the incomplete upload.

s3rver 3.7.1 does not implement ListMultipartUploads (it returns 501) nor
AbortMultipartUpload (405), so UploadFront below sits in front of the
signature-checking proxy of tests/s3/ and serves these two requests from
s3rver's data folder once the proxy has accepted their signature.  Every
other request passes through unchanged.
"""

import datetime
import http.client
import http.server
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import unittest
import urllib.parse
from xml.sax.saxutils import escape

from harness import (PYTHON, SOURCE_DIR, Hoist, loss_curve, wait_for,
                     write_job)
from test_s3 import s3h

MiB = 1 << 20
BIG_STEP = 5
SMALL_STEP = 2
LAST_STEP = 8
# Each part waits this long in UploadFront before it is forwarded, so that
# the upload of the big checkpoint lasts long enough to be cut.
PART_DELAY_S = 0.7

JOB_SCRIPT = """\
import os
import sys
import time

sys.path.insert(0, %(python_dir)r)
from hoist_contract import Run

run = Run()
run.resume()
attempt = int(os.environ["HOIST_ATTEMPT"])
for step in range(run.start_step + 1, %(last)d + 1):
    time.sleep(0.2)
    run.log(step, loss=1.0 / step)
    print("step %%d attempt %%d" %% (step, attempt), flush=True)
    if step in (%(small)d, %(big)d, %(last)d):
        size = %(big_size)d if step == %(big)d and attempt == 1 else 4096
        with run.checkpoint(step) as folder:
            with open(os.path.join(str(folder), "state.bin"), "wb") as f:
                left = size
                while left > 0:
                    f.write(os.urandom(min(left, 1 << 20)))
                    left -= min(left, 1 << 20)
        # Give the agent time to commit the small checkpoint before the
        # big one starts.
        time.sleep(2)
    if step == %(big)d and attempt == 1:
        # The instance is killed during this upload.
        time.sleep(300)
    if run.stop_requested:
        break
"""


def uploads_dir(data):
    return os.path.join(data, s3h.BUCKET, "._S3rver_uploads")


def pending_uploads(data):
    """Returns {upload id: (key, initiated epoch)} of s3rver's multipart
    uploads that were neither completed nor aborted."""
    found = {}
    folder = uploads_dir(data)
    if not os.path.isdir(folder):
        return found
    for upload_id in os.listdir(folder):
        path = os.path.join(folder, upload_id)
        try:
            with open(os.path.join(path, "key")) as f:
                key = f.read()
            started = os.stat(path).st_mtime
        except OSError:
            continue
        found[upload_id] = (key, started)
    return found


class UploadFront:
    """An HTTP server between hoist and the S3 proxy.

    It counts the UploadPart requests per object key, delays them by
    PART_DELAY_S, and serves ListMultipartUploads and AbortMultipartUpload
    from s3rver's data folder when the proxy has checked the signature and
    s3rver has returned 501 or 405 for them."""

    def __init__(self, proxy_port, data):
        self.proxy_port = proxy_port
        self.data = data
        self.lock = threading.Lock()
        self.parts = {}
        self.listed = 0
        self.aborted = []
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                front.handle(self)

            do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def parts_of(self, fragment):
        with self.lock:
            return sum(n for key, n in self.parts.items() if fragment in key)

    def handle(self, req):
        url = urllib.parse.urlsplit(req.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        is_part = req.command == "PUT" and "partNumber" in query
        if is_part:
            with self.lock:
                self.parts[url.path] = self.parts.get(url.path, 0) + 1
            # Delay before reading the body, so that a part whose sender
            # was killed meanwhile fails to read and never reaches s3rver.
            time.sleep(PART_DELAY_S)
        try:
            body = req.rfile.read(int(req.headers.get("Content-Length", 0)))
        except OSError:
            req.close_connection = True
            return
        if len(body) != int(req.headers.get("Content-Length", 0)):
            req.close_connection = True
            return

        conn = http.client.HTTPConnection("127.0.0.1", self.proxy_port,
                                          timeout=60)
        try:
            conn.putrequest(req.command, req.path, skip_host=True,
                            skip_accept_encoding=True)
            for name, value in req.headers.items():
                if name.lower() not in ("connection", "keep-alive"):
                    conn.putheader(name, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            status, headers = resp.status, resp.getheaders()
            payload = resp.read()
        finally:
            conn.close()

        if status == 501 and req.command == "GET" and "uploads" in query:
            status, headers, payload = self.list_uploads(query)
        elif status == 405 and req.command == "DELETE" and \
                "uploadId" in query:
            status, headers, payload = self.abort_upload(
                query["uploadId"][0])
        req.send_response(status)
        length = str(len(payload))
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length" and req.command == "HEAD":
                # A HEAD reply carries the object's size and no body.
                length = value
            elif lower not in ("content-length", "connection",
                               "transfer-encoding", "date", "server"):
                req.send_header(name, value)
        req.send_header("Content-Length", length)
        req.end_headers()
        if req.command != "HEAD":
            try:
                req.wfile.write(payload)
            except OSError:
                # The sender was killed while its request ran.
                req.close_connection = True

    def list_uploads(self, query):
        prefix = query.get("prefix", [""])[0]
        with self.lock:
            self.listed += 1
        items = []
        for upload_id, (key, started) in sorted(
                pending_uploads(self.data).items()):
            if not key.startswith(prefix):
                continue
            initiated = datetime.datetime.fromtimestamp(
                started, datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z")
            items.append("<Upload><Key>%s</Key><UploadId>%s</UploadId>"
                         "<Initiated>%s</Initiated></Upload>"
                         % (escape(key), upload_id, initiated))
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com'
                '/doc/2006-03-01/"><Bucket>%s</Bucket><Prefix>%s</Prefix>'
                '<MaxUploads>1000</MaxUploads><IsTruncated>false'
                '</IsTruncated>%s</ListMultipartUploadsResult>'
                % (s3h.BUCKET, escape(prefix), "".join(items)))
        return 200, [("Content-Type", "application/xml")], body.encode()

    def abort_upload(self, upload_id):
        path = os.path.join(uploads_dir(self.data), upload_id)
        if "/" in upload_id or not os.path.isdir(path):
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
                    'NoSuchUpload</Code><Message>The specified upload does '
                    'not exist.</Message></Error>')
            return 404, [("Content-Type", "application/xml")], body.encode()
        shutil.rmtree(path)
        with self.lock:
            self.aborted.append(upload_id)
        return 204, [], b""


class S3KillTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(s3h.S3RVER):
            s3h.run_setup()

    def setUp(self):
        self.servers = s3h.Servers(self.id().rsplit(".", 1)[-1])
        self.addCleanup(self.servers.stop)
        self.front = UploadFront(self.servers.port, self.servers.data)
        self.addCleanup(self.front.stop)

    def store_url(self, prefix):
        url = self.servers.url(prefix, threshold="8MiB", part_size="5MiB",
                               parallel="2")
        return url.replace("127.0.0.1:%d" % self.servers.port,
                           "127.0.0.1:%d" % self.front.port)

    def start_hoist(self, prefix):
        hoist = Hoist(self, ["--storage", self.store_url(prefix)])
        hoist.env = s3h.tool_env({k: v for k, v in hoist.env.items()
                                  if not k.startswith("AWS_")})
        self.addCleanup(hoist.cleanup)
        hoist.start()
        hoist.env = {k: v for k, v in hoist.env.items()
                     if not k.startswith("AWS_")}
        return hoist

    def write_job(self, hoist):
        workdir = os.path.join(hoist.home, "work")
        os.makedirs(workdir)
        with open(os.path.join(workdir, "job.py"), "w") as f:
            f.write(JOB_SCRIPT % {
                "python_dir": os.path.join(SOURCE_DIR, "python"),
                "last": LAST_STEP, "small": SMALL_STEP, "big": BIG_STEP,
                "big_size": 64 * MiB})
        path = os.path.join(hoist.home, "bigckpt.yaml")
        with open(path, "w") as f:
            f.write("name: bigckpt\n"
                    "profile: dev-test\n"
                    "workdir: %s\n"
                    "command: [%s, job.py]\n"
                    "checkpoint: {interval: 30s, keep: 3}\n"
                    "grace: 5s\n"
                    "retry: {max_failures: 2, max_attempts: 5}\n"
                    % (workdir, PYTHON))
        return path

    def test_killed_mid_upload_resumes(self):
        hoist = self.start_hoist("kill")
        run = hoist.cli("run", self.write_job(hoist), "--detach", "--json")
        job_id = json.loads(run.stdout)["id"]
        big = "/jobs/%s/checkpoints/a1-s%d/" % (job_id, BIG_STEP)

        wait_for(lambda: self.front.parts_of(big) >= 3, 120,
                 "three parts of the big checkpoint")
        job = hoist.job(job_id)
        self.assertEqual([c["step"] for c in job["checkpoints"]],
                         [SMALL_STEP], "only the small checkpoint is "
                         "committed when the instance dies")
        pending = [key for key, _ in
                   pending_uploads(self.servers.data).values()]
        self.assertTrue(any("a1-s%d/" % BIG_STEP in key
                            for key in pending), pending)

        victims = hoist.instance_processes()
        self.assertTrue(victims)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        parts_at_kill = self.front.parts_of(big)

        def ended():
            job = hoist.job(job_id)
            return job if job["state"] in ("succeeded", "failed",
                                           "cancelled") else None
        job = wait_for(ended, 240, "the job to end", interval=0.5)
        self.assertEqual(job["state"], "succeeded", hoist.log())
        self.assertGreaterEqual(len(job["attempts"]), 2)
        self.assertEqual(job["attempts"][0]["end_reason"], "lost")
        self.assertEqual(job["attempts"][1]["resumed_from_step"],
                         SMALL_STEP)

        # The cut checkpoint never became visible: no commit, no object.
        for ckpt in job["checkpoints"]:
            self.assertNotIn("/a1-s%d/" % BIG_STEP, ckpt["manifest_key"])
        listed = hoist.cli_json("ckpt", "ls", job_id)
        self.assertNotIn((1, BIG_STEP),
                         [(c.get("attempt"), c["step"]) for c in listed])
        listing = s3h.tool("ls", self.store_url("kill"),
                           "jobs/%s/checkpoints/" % job_id)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertNotIn("a1-s%d/" % BIG_STEP, listing.stdout)
        self.assertIn("a1-s%d/manifest.json" % SMALL_STEP, listing.stdout)
        self.assertLess(self.front.parts_of(big), 13,
                        "the big checkpoint was uploaded whole")
        self.assertLessEqual(self.front.parts_of(big), parts_at_kill + 2)

        # hoistd aborted the upload when the attempt ended.
        self.assertTrue(self.front.aborted, hoist.log())
        self.assertIn("job=%s aborted 1 stale multipart upload" % job_id,
                      hoist.log())
        self.assertEqual(pending_uploads(self.servers.data), {})
        swept = s3h.tool("abort-stale", self.store_url("kill"),
                         "jobs/%s/" % job_id, "0")
        self.assertEqual(swept.returncode, 0, swept.stderr)
        self.assertEqual(swept.stdout.strip(), "0")


class StoredLogsTest(unittest.TestCase):
    """hoistd copies log chunks and heartbeat metrics to the artifact
    store, and serves the log from there when its local copy is gone."""

    def test_logs_served_from_store(self):
        store = tempfile.mkdtemp(prefix="hoist-e2e-store-")
        self.addCleanup(shutil.rmtree, store, True)
        hoist = Hoist(self, ["--storage", "file://" + store])
        self.addCleanup(hoist.cleanup)
        hoist.start()
        job_file = write_job(hoist.home, "logged", steps=40,
                             step_delay=0.03, ckpt_every=20)
        run = hoist.cli("run", job_file, "--detach", "--json")
        job_id = json.loads(run.stdout)["id"]

        def ended():
            job = hoist.job(job_id)
            return job if job["state"] in ("succeeded", "failed",
                                           "cancelled") else None
        job = wait_for(ended, 180, "the job to end", interval=0.5)
        self.assertEqual(job["state"], "succeeded", hoist.log())
        local = hoist.cli("logs", job_id).stdout
        self.assertTrue(loss_curve(local), local)

        # The flush timer writes the copies within a period or two.
        log_dir = os.path.join(store, "jobs", job_id, "logs", "a1")
        def stored_size():
            if not os.path.isdir(log_dir):
                return 0
            return sum(os.path.getsize(os.path.join(log_dir, name))
                       for name in os.listdir(log_dir))
        wait_for(lambda: stored_size() >= len(local.encode()), 10,
                 "the whole log in the store")
        names = sorted(os.listdir(log_dir))
        for name in names:
            self.assertRegex(name, r"^[0-9]{20}\.log$")
        stored = b""
        for name in names:
            self.assertEqual(int(name[:20]), len(stored), names)
            with open(os.path.join(log_dir, name), "rb") as f:
                stored += f.read()
        self.assertEqual(stored.decode(), local)

        metrics_dir = os.path.join(store, "jobs", job_id, "metrics", "a1")
        batches = sorted(os.listdir(metrics_dir))
        self.assertTrue(batches)
        steps = []
        line_count = 0
        for name in batches:
            self.assertRegex(name, r"^[0-9]{16}\.jsonl$")
            with open(os.path.join(metrics_dir, name)) as f:
                lines = f.read().splitlines()
            self.assertTrue(lines, name)
            line_count += len(lines)
            for line in lines:
                record = json.loads(line)
                self.assertIsInstance(record["time_ms"], int)
                self.assertIsInstance(record["metrics"], dict)
                if record["step"] is not None:
                    steps.append(record["step"])
        self.assertTrue(steps)
        self.assertEqual(steps, sorted(steps))
        # One object per flush period, not one per heartbeat.
        self.assertGreater(line_count, len(batches))

        # hoistd loses its local logs: hoist logs reads the store's copy.
        shutil.rmtree(os.path.join(hoist.home, "logs"))
        from_store = hoist.cli("logs", job_id).stdout
        self.assertEqual(from_store, local)


if __name__ == "__main__":
    unittest.main()
