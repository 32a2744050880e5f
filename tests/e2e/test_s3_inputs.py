"""End to end: job inputs on an S3 artifact store, and s3:// input sources.

hoistd stores artifacts on s3rver (tests/s3/, behind the signature-checking
proxy) and loads the credentials.  "hoist run" stages inputs through
hoistd's /v1/datasets/presign route, so the CLI needs no credentials for
the store.  An s3:// input lives in a second bucket on the same s3rver and
is read with the credentials in the CLI's own environment.
"""

import hashlib
import json
import os
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

from harness import wait_for
from test_s3 import S3TestCase, s3h

SOURCE_BUCKET = "hoist-source"

# The job writes the relative path, size and SHA-256 of every input file,
# and the text of data/with space.txt in upper case.
SCRIPT = """\
import hashlib, json, os
found = {}
for folder, _, names in os.walk("data"):
    for name in names:
        path = os.path.join(folder, name)
        with open(path, "rb") as f:
            data = f.read()
        found[os.path.relpath(path, "data")] = [
            len(data), hashlib.sha256(data).hexdigest()]
os.makedirs("out", exist_ok=True)
with open(os.path.join("out", "files.json"), "w") as f:
    json.dump(found, f, sort_keys=True)
with open(os.path.join("data", "with space.txt")) as f:
    text = f.read()
with open(os.path.join("out", "upper.txt"), "w") as f:
    f.write(text.upper())
"""

# Local input files: names with spaces, '+', '@' and non-ASCII letters
# (NFC), and one file above the store's multipart threshold.
LOCAL_FILES = {
    "with space.txt": b"hello s3 inputs\n",
    "plus+sign.txt": b"1+1=2\n",
    "at@sign.txt": b"user@example.org\n",
    "caf\u00e9/na\u00efve \u00fc.txt": "gr\u00fc\u00dfe\n".encode(),
}
BIG_FILE = "big/weights.bin"
BIG_SIZE = 6 * 1024 * 1024

# Objects of the s3:// source, below its prefix.
SOURCE_OBJECTS = {
    "with space.txt": b"from the source bucket\n",
    "sub dir/b+c@d.bin": bytes(range(256)) * 64,
    "\u00fc/\u00e9t\u00e9.txt": "\u00e9t\u00e9\n".encode(),
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def expected_listing(files):
    return {path: [len(data), sha256(data)] for path, data in files.items()}


class S3InputsTest(S3TestCase):
    def setUp(self):
        super().setUp()
        # Files larger than 5 MiB go up as multipart uploads, and the CLI
        # stages to the store without credentials of its own.
        self.store_url = self.servers.url("store", threshold="5MiB",
                                          part_size="5MiB")
        self.hoist = self.start_hoist("store", threshold="5MiB",
                                      part_size="5MiB")
        self.tmpdir = tempfile.mkdtemp(prefix="tmpdir-", dir=self.hoist.home)
        self.hoist.env["TMPDIR"] = self.tmpdir

    # --- helpers -------------------------------------------------------

    def source_url(self, prefix, bucket=SOURCE_BUCKET):
        return ("s3://%s/%s?endpoint=http://127.0.0.1:%d&region=%s"
                % (bucket, prefix, self.servers.port, s3h.REGION))

    def create_source_bucket(self):
        # s3rver accepts anonymous requests, so the bucket is created on it
        # directly, without the signature-checking proxy.
        request = urllib.request.Request(
            "http://127.0.0.1:%d/%s" % (self.servers.s3rver_port,
                                        SOURCE_BUCKET), method="PUT")
        with urllib.request.urlopen(request, timeout=10) as reply:
            self.assertEqual(reply.status, 200)

    def put_source_object(self, prefix, key, data):
        path = os.path.join(self.hoist.home, "object")
        with open(path, "wb") as f:
            f.write(data)
        result = s3h.tool("put", self.source_url(prefix), key, path)
        self.assertEqual(result.returncode, 0, result.stderr)

    def store_keys(self, prefix):
        """Returns the sorted keys below prefix in the store."""
        result = s3h.tool("ls", self.store_url, prefix)
        self.assertEqual(result.returncode, 0, result.stderr)
        return sorted(line.split("\t", 1)[1]
                      for line in result.stdout.splitlines())

    def store_object(self, key):
        """Returns the bytes of key in the store, or None when missing."""
        path = os.path.join(self.hoist.home, "fetched")
        result = s3h.tool("get", self.store_url, key, path)
        if result.returncode != 0:
            return None
        with open(path, "rb") as f:
            return f.read()

    def write_job(self, source):
        workdir = os.path.join(self.hoist.home, "job")
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, "job.py"), "w") as f:
            f.write(SCRIPT)
        path = os.path.join(self.hoist.home, "inputs.yaml")
        with open(path, "w") as f:
            f.write("name: s3-inputs\n"
                    "profile: dev-test\n"
                    "workdir: %s\n"
                    "command: [%s, job.py]\n"
                    "inputs:\n"
                    "  - {from: %s, to: data}\n"
                    "outputs: [out]\n"
                    % (workdir, sys.executable, json.dumps(source)))
        return path

    def run_job(self, job_file):
        job = self.hoist.cli_json("run", job_file)
        self.assertEqual(job["state"], "succeeded", self.hoist.log())
        return job

    def job_output(self, job_id, name):
        key = "jobs/%s/outputs/out/%s" % (job_id, name)
        return wait_for(lambda: self.store_object(key), 15,
                        "the output object " + key)

    def presign_datasets(self, body):
        with open(os.path.join(self.hoist.home, "admin.token")) as f:
            token = f.read().strip()
        request = urllib.request.Request(
            self.hoist.url + "/v1/datasets/presign",
            data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": "Bearer " + token,
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def job_count(self):
        return len(self.hoist.cli_json("jobs", "--all")["jobs"])

    def assert_tmpdir_empty(self):
        self.assertEqual(os.listdir(self.tmpdir), [])

    # --- tests ---------------------------------------------------------

    def test_local_input_on_s3_store(self):
        data = os.path.join(self.hoist.home, "data-src")
        files = dict(LOCAL_FILES)
        files[BIG_FILE] = os.urandom(BIG_SIZE)
        for rel, content in files.items():
            os.makedirs(os.path.dirname(os.path.join(data, rel)),
                        exist_ok=True)
            with open(os.path.join(data, rel), "wb") as f:
                f.write(content)
        job_file = self.write_job(data)

        job = self.run_job(job_file)
        listed = json.loads(self.job_output(job["id"], "files.json"))
        self.assertEqual(listed, expected_listing(files))
        self.assertEqual(self.job_output(job["id"], "upper.txt"),
                         b"HELLO S3 INPUTS\n")
        # hoist outputs fetches them through URLs that hoistd presigns.
        fetched = os.path.join(self.hoist.home, "outputs")
        summary = self.hoist.cli_json("outputs", job["id"], fetched)
        self.assertEqual(sorted(f["path"] for f in summary["files"]),
                         ["out/files.json", "out/upper.txt"])
        with open(os.path.join(fetched, "out", "upper.txt"), "rb") as f:
            self.assertEqual(f.read(), b"HELLO S3 INPUTS\n")
        first = self.store_keys("datasets/")
        blobs = [k for k in first if k.startswith("datasets/sha256/")]
        self.assertEqual(sorted(blobs),
                         sorted("datasets/sha256/" + sha256(content)
                                for content in files.values()))
        self.assertEqual(len([k for k in first
                              if k.startswith("datasets/manifests/")]), 1)
        self.assertGreater(self.servers.stats().get("presigned", 0), 0)

        # The same input again uploads nothing new.  The job itself is
        # not awaited, because the first run already checked it.
        again = self.hoist.cli("run", job_file, "--detach")
        self.assertIn("uploaded 0 new objects", again.stderr)
        self.assertEqual(self.store_keys("datasets/"), first)
        self.assert_tmpdir_empty()

        # The datasets route signs staging below datasets/ only.
        status, body = self.presign_datasets(
            {"method": "PUT", "key": "datasets/sha256/00"})
        self.assertEqual(status, 200, body)
        self.assertIn("X-Amz-Signature=", body["url"])
        for request in ({"method": "PUT", "key": "jobs/%s/x" % job["id"]},
                        {"method": "GET", "key": "other/file"},
                        {"method": "DELETE", "key": blobs[0]},
                        {"method": "GET", "key": None,
                         "query": {"list-type": "2",
                                   "prefix": "store/jobs/"}}):
            status, body = self.presign_datasets(request)
            self.assertEqual(status, 403, (request, body))
        log = self.hoist.log()
        self.assertIn("scope=datasets presign put for the CLI rejected", log)
        self.assertNotIn("job=(null)", log)

    def test_s3_source_input(self):
        self.create_source_bucket()
        for key, data in SOURCE_OBJECTS.items():
            self.put_source_object("corpus/v1", key, data)
        # Outside the prefix, and a folder marker inside it.
        self.put_source_object("corpus", "v1extra.txt", b"not an input\n")
        self.put_source_object("corpus", "v2/other.txt", b"not an input\n")
        request = urllib.request.Request(
            "http://127.0.0.1:%d/%s/corpus/v1/marker/"
            % (self.servers.s3rver_port, SOURCE_BUCKET),
            data=b"", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as reply:
            self.assertEqual(reply.status, 200)
        source_before = s3h.tool("ls", self.source_url(""), "").stdout

        # The user's own credentials read the source bucket.
        self.hoist.env = s3h.tool_env(self.hoist.env)
        self.hoist.env["TMPDIR"] = self.tmpdir
        job_file = self.write_job(self.source_url("corpus/v1"))
        job = self.run_job(job_file)

        listed = json.loads(self.job_output(job["id"], "files.json"))
        self.assertEqual(listed, expected_listing(SOURCE_OBJECTS))
        self.assertEqual(self.job_output(job["id"], "upper.txt"),
                         b"FROM THE SOURCE BUCKET\n")
        self.assertEqual(s3h.tool("ls", self.source_url(""), "").stdout,
                         source_before)
        self.assert_tmpdir_empty()

        first = self.store_keys("datasets/")
        again = self.hoist.cli("run", job_file, "--detach")
        self.assertIn("uploaded 0 new objects", again.stderr)
        self.assertEqual(self.store_keys("datasets/"), first)

    def test_bad_s3_sources_rejected(self):
        self.create_source_bucket()
        self.put_source_object("present", "a.txt", b"a\n")
        with_credentials = s3h.tool_env(self.hoist.env)
        without_credentials = dict(self.hoist.env)
        without_credentials.update({
            "AWS_CONFIG_FILE": "/nonexistent/hoist-test/config",
            "AWS_SHARED_CREDENTIALS_FILE":
                "/nonexistent/hoist-test/credentials"})
        cases = [
            (self.source_url("nothing-here"), with_credentials,
             "found no objects below the prefix"),
            (self.source_url("x", bucket="hoist-missing"), with_credentials,
             "the bucket does not exist"),
            (self.source_url("present"), without_credentials,
             "no AWS credentials found"),
        ]
        for url, env, message in cases:
            with self.subTest(url=url):
                self.hoist.env = env
                job_file = self.write_job(url)
                result = self.hoist.cli("run", job_file, check=False)
                self.assertNotEqual(result.returncode, 0, result.stdout)
                # Messages name the source without its ?options.
                self.assertIn("cannot stage input '%s'"
                              % url.split("?")[0], result.stderr)
                self.assertNotIn("?endpoint=", result.stderr)
                self.assertIn(message, result.stderr)
                self.assertEqual(self.job_count(), 0)
                self.assert_tmpdir_empty()


if __name__ == "__main__":
    unittest.main()
