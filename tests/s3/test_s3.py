"""The S3 back end against s3rver, through the signature-checking proxy.

Run by meson (tests/s3/meson.build) with HOIST_BUILD_DIR set; needs
tests/s3/setup.sh to have installed s3rver (setUpModule runs it).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unicodedata
import unittest

import harness
from harness import tool

MIB = 1 << 20
# Small transfer settings, so that multipart paths run on small files:
# threshold 6 MiB, 5 MiB parts (the S3 minimum) and 1 MiB ranges.
SMALL = {'threshold': '6MiB', 'part_size': '5MiB', 'chunk_size': '1MiB',
         'parallel': '4'}
THRESHOLD = 6 * MIB

# Keys with every awkward character the back end must carry unchanged.
AWKWARD_KEYS = [
    'keys/with space.bin',
    'keys/plus+sign.bin',
    'keys/at@sign.bin',
    'keys/paren(1).bin',
    'keys/percent%41.bin',
    'keys/equals=sign.bin',
    'keys/caf\u00e9/\u65e5\u672c\u8a9e/\U0001f600.bin',
    'keys/all +@(%=\u00fc~*!\'$&,;.bin',
]
# CopyObject on s3rver 3.7.1 decodes x-amz-copy-source with JavaScript's
# decodeURI(), which leaves %2B, %40, %3D, %24, %26, %2C and %3B encoded,
# so it cannot find source keys with those characters.  The AWS CLI fails
# the same way against it; real S3 decodes them.
S3RVER_COPY_BROKEN = set('+@=$&,;')

servers = None


def setUpModule():
    global servers
    harness.run_setup()
    servers = harness.Servers('main')


def tearDownModule():
    if servers:
        servers.stop()
    harness.remove_logs()


class S3Test(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='hoist-s3-test-')
        servers.set_faults()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def ok(self, *args, **kw):
        res = tool(*args, **kw)
        self.assertEqual(res.returncode, 0, res.stderr)
        return res

    def listing(self, url, prefix):
        res = self.ok('ls', url, prefix)
        entries = {}
        for line in res.stdout.splitlines():
            size, _, key = line.partition('\t')
            entries[key] = int(size)
        return entries

    def roundtrip(self, url, key, size, seed):
        src = self.path('src-%d' % seed)
        dst = self.path('dst-%d' % seed)
        harness.write_random(src, size, seed)
        digest = harness.sha256_file(src)
        put = self.ok('put', url, key, src)
        self.assertEqual(put.stdout.split(), [str(size), digest])
        head = self.ok('head', url, key)
        self.assertEqual(int(head.stdout.split()[0]), size)
        get = self.ok('get', url, key, dst)
        self.assertEqual(get.stdout.split(), [str(size), digest])
        self.assertEqual(harness.sha256_file(dst), digest)
        self.retries = sum(r.stats['retries'] for r in (put, head, get))
        return put, get

    def test_size_edges(self):
        url = servers.url('sizes', **SMALL)
        sizes = [0, 1, THRESHOLD - 1, THRESHOLD, THRESHOLD + 1,
                 3 * 5 * MIB + 12345]
        for seed, size in enumerate(sizes):
            with self.subTest(size=size):
                put, _ = self.roundtrip(url, 'edge/%d.bin' % size, size,
                                        seed)
                multipart = 1 if size > THRESHOLD else 0
                self.assertEqual(put.stats['multipart_uploads'], multipart)
        listed = self.listing(url, 'edge/')
        self.assertEqual(listed, {'edge/%d.bin' % s: s for s in sizes})

    def test_awkward_keys_round_trip(self):
        url = servers.url('awk', list_page=2)
        for i, key in enumerate(AWKWARD_KEYS):
            with self.subTest(key=key):
                body = 'body of %d' % i
                self.ok('put-bytes', url, key, body)
                head = self.ok('head', url, key)
                self.assertEqual(int(head.stdout.split()[0]),
                                 len(body.encode()))
                self.assertEqual(self.ok('get-bytes', url, key).stdout, body)
        listed = self.listing(url, 'keys/')
        self.assertEqual(sorted(listed), sorted(AWKWARD_KEYS))

        for key in AWKWARD_KEYS:
            copy = key.replace('keys/', 'copies/', 1)
            with self.subTest(copy=key):
                res = tool('cp', url, key, copy)
                if S3RVER_COPY_BROKEN & set(key):
                    self.assertNotEqual(res.returncode, 0)
                    self.assertIn('NoSuchKey', res.stderr)
                    continue
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertEqual(self.ok('get-bytes', url, copy).stdout,
                                 self.ok('get-bytes', url, key).stdout)
        for key in AWKWARD_KEYS:
            self.ok('rm', url, key)
            self.ok('rm', url, key.replace('keys/', 'copies/', 1))
        self.assertEqual(self.listing(url, ''), {})

    def test_keys_normalized_to_nfc(self):
        url = servers.url('nfc')
        nfd = unicodedata.normalize('NFD', 'ordner/Gr\u00fc\u00dfe '
                                    '\u00e9t\u00e9/\uac00.txt')
        nfc = unicodedata.normalize('NFC', nfd)
        self.assertNotEqual(nfd, nfc)
        self.ok('put-bytes', url, nfd, 'x')
        self.assertEqual(self.listing(url, ''), {nfc: 1})
        self.assertEqual(self.ok('get-bytes', url, nfc).stdout, 'x')

    def test_nfc_matches_python(self):
        samples = ['plain', 'e\u0301', 'A\u030a\u0301', 'q\u0307\u0323',
                   '\u1100\u1161\u11a8', '\u212b', '\u0958x',
                   'a\u0328\u0301\u0316', '\u00c5\u0327', '\u1e0b\u0323',
                   '\U0001d15e', '\u0f73\u0f80', 'Ve\u0323\u0302t']
        for text in samples:
            with self.subTest(text=ascii(text)):
                res = self.ok('nfc', text)
                self.assertEqual(res.stdout.rstrip('\n'),
                                 unicodedata.normalize('NFC', text))

    def test_listing_follows_continuation(self):
        url = servers.url('pages', list_page=3)
        keys = ['p/%02d' % i for i in range(11)]
        for key in keys:
            self.ok('put-bytes', url, key, key)
        self.assertEqual(sorted(self.listing(url, 'p/')), keys)
        self.assertEqual(sorted(self.listing(url, 'p/0')), keys[:10])

    def test_faults_are_retried(self):
        url = servers.url('faults', attempts=30, **SMALL)
        servers.set_faults(status_503=0.1, status_503_empty=0.05,
                           status_500=0.05, status_429=0.05,
                           reset_request=0.05, reset_response=0.1)
        self.roundtrip(url, 'f/big.bin', 4 * 5 * MIB + 77, 42)
        stats = servers.stats()
        faults = sum(stats[k] for k in ('status_503', 'status_503_empty',
                                        'status_500', 'status_429',
                                        'reset_request', 'reset_response'))
        self.assertGreater(faults, 0)
        self.assertGreater(self.retries, 0)
        self.assertEqual(stats['signature_failures'], 0)

    def test_every_status_fault_retried(self):
        for fault in ('status_503', 'status_503_empty', 'status_500',
                      'status_429', 'reset_request', 'reset_response'):
            with self.subTest(fault=fault):
                url = servers.url('one-' + fault, attempts=40, **SMALL)
                servers.set_faults(every=3, **{fault: 1.0})
                self.roundtrip(url, 'x.bin', 3 * MIB, 7)
                self.assertGreater(servers.stats()[fault], 0)
                self.assertGreater(self.retries, 0)

    def test_stalled_answer_times_out(self):
        url = servers.url('stall', stall_seconds=1, attempts=20)
        servers.set_faults(delay=0.5, delay_ms=2500)
        self.roundtrip(url, 's.bin', 3 * MIB, 9)
        self.assertGreater(servers.stats()['delay'], 0)
        self.assertGreater(self.retries, 0)

    def test_retries_give_up_with_clear_error(self):
        url = servers.url('down', attempts=3)
        servers.set_faults(status_503=1.0)
        res = tool('put-bytes', url, 'k', 'v')
        self.assertEqual(res.returncode, 1)
        self.assertIn('after 3 attempts', res.stderr)
        self.assertIn('HTTP 503 SlowDown', res.stderr)
        self.assertEqual(res.stats['requests'], 3)

    def test_client_error_not_retried(self):
        url = servers.url('missing')
        res = tool('get-bytes', url, 'no/such/key')
        self.assertEqual(res.returncode, 1)
        self.assertIn('not_found', res.stderr)
        self.assertEqual(res.stats['requests'], 1)
        res = tool('head', url, 'no/such/key')
        self.assertIn('not found', res.stderr)

    def test_wrong_secret_rejected_without_leak(self):
        url = servers.url('wrong')
        env = harness.tool_env({'AWS_SECRET_ACCESS_KEY': 'not' +
                                harness.SECRET_KEY})
        res = tool('put-bytes', url, 'k', 'v', env=env)
        self.assertEqual(res.returncode, 1)
        self.assertIn('SignatureDoesNotMatch', res.stderr)
        for secret in harness.SECRETS:
            self.assertNotIn(secret, res.stderr + res.stdout)

    def test_signed_payload_option(self):
        url = servers.url('signed', payload='signed', **SMALL)
        self.roundtrip(url, 'sp.bin', THRESHOLD + 5, 11)
        stats = servers.stats()
        self.assertEqual(stats['unsigned_payloads'], 0)
        self.assertGreater(stats['signed_payloads'], 0)

    def test_virtual_hosted_addressing(self):
        url = ('s3://%s/vh?endpoint=http://s3.localhost:%d&region=%s'
               '&addressing=virtual' % (harness.BUCKET, servers.port,
                                        harness.REGION))
        self.roundtrip(url, 'v h/+x.bin', 1000, 12)
        path_url = servers.url('vh')
        self.assertEqual(self.listing(path_url, ''), {'v h/+x.bin': 1000})

    def test_presigned_store_needs_no_credentials(self):
        url = servers.url('presigned', **SMALL)
        src = self.path('src')
        harness.write_random(src, THRESHOLD + 3 * MIB, 13)
        res = self.ok('--presigned', 'put', url, 'p/o b+.bin', src)
        self.assertEqual(res.stats['multipart_uploads'], 1)
        self.assertGreater(res.stats['presign_calls'], 2)
        res = self.ok('--presigned', 'get', url, 'p/o b+.bin',
                      self.path('dst'))
        self.assertEqual(harness.sha256_file(self.path('dst')),
                         harness.sha256_file(src))
        self.assertEqual(self.listing(url, 'p/'),
                         {'p/o b+.bin': THRESHOLD + 3 * MIB})
        self.ok('--presigned', 'rm', url, 'p/o b+.bin')
        self.assertEqual(self.listing(url, 'p/'), {})
        self.assertGreater(servers.stats()['presigned'], 0)

    def test_presigned_rejection_names_signer(self):
        url = servers.url('presigned', **SMALL)
        env = harness.tool_env({'AWS_ACCESS_KEY_ID': 'AKIAWRONGKEY00000000'})
        res = harness.tool('--presigned', 'put-bytes', url, 'p/x', 'data',
                           env=env)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("HTTP 403 InvalidAccessKeyId", res.stderr)
        self.assertIn("hoistd presigned this request for its artifact "
                      "store, so check hoistd's --storage URL", res.stderr)
        # The same rejection without presigning has no such note.
        res = harness.tool('put-bytes', url, 'p/x', 'data', env=env)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("HTTP 403 InvalidAccessKeyId", res.stderr)
        self.assertNotIn("hoistd presigned", res.stderr)

    def test_checkpoint_round_trip(self):
        url = servers.url('ckpt', **SMALL)
        src = self.path('ckpt')
        os.makedirs(os.path.join(src, 'model', 'shards'))
        harness.write_random(os.path.join(src, 'model', 'shards', 'w.bin'),
                             2 * THRESHOLD, 21)
        harness.write_random(os.path.join(src, 'opt state.bin'), 4096, 22)
        open(os.path.join(src, 'empty'), 'w').close()
        with open(os.path.join(src, 'step.txt'), 'w') as f:
            f.write('250')
        up = self.ok('ckpt-upload', url, 'j-s3test', '1', '250', src)
        manifest_key, manifest_sha, files, size = up.stdout.split()
        self.assertEqual(int(files), 4)
        dst = self.path('restored')
        down = self.ok('ckpt-restore', url, manifest_key, manifest_sha, dst)
        self.assertEqual(down.stdout.strip(), '250')
        for name in ('model/shards/w.bin', 'opt state.bin', 'empty',
                     'step.txt'):
            self.assertEqual(harness.sha256_file(os.path.join(dst, name)),
                             harness.sha256_file(os.path.join(src, name)))

    def test_killed_multipart_upload_stays_invisible(self):
        url = servers.url('killed', **SMALL)
        src = self.path('ckpt')
        os.makedirs(src)
        harness.write_random(os.path.join(src, 'weights.bin'), 8 * 5 * MIB,
                             31)
        servers.set_faults(delay=1.0, delay_ms=1500, only_methods=['PUT'])
        proc = subprocess.Popen(
            [harness.TOOL, 'ckpt-upload', url, 'j-killed', '1', '10', src],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=harness.tool_env())
        deadline = time.monotonic() + 60
        while servers.stats()['forwarded'] < 3 and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        servers.set_faults()

        prefix = 'jobs/j-killed/checkpoints/a1-s10/'
        self.assertEqual(self.listing(url, prefix), {})
        res = tool('head', url, prefix + 'files/weights.bin')
        self.assertIn('not found', res.stderr)
        res = tool('ckpt-restore', url, prefix + 'manifest.json', '',
                   self.path('restore'))
        self.assertEqual(res.returncode, 1)
        self.assertIn('not_found', res.stderr)
        # s3rver 3.7.1 returns 501 for ListMultipartUploads, so this only
        # shows that the sweep sends the request and reports the error.
        res = tool('abort-stale', url, 'jobs/', '0')
        self.assertEqual(res.returncode, 1)
        self.assertIn('ListMultipartUploads', res.stderr)
        self.assertIn('NotImplemented', res.stderr)

    def test_interrupted_download_resumes(self):
        url = servers.url('resume', **SMALL)
        src = self.path('src')
        size = 24 * MIB + 5
        harness.write_random(src, size, 41)
        self.ok('put', url, 'r.bin', src)
        dst = self.path('dst')
        servers.set_faults(delay=1.0, delay_ms=700, only_methods=['GET'])
        slow = url.replace('parallel=4', 'parallel=2')
        proc = subprocess.Popen(
            [harness.TOOL, 'get', slow, 'r.bin', dst],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=harness.tool_env())
        ranges = dst + '.hoist-download.ranges'
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if os.path.exists(ranges):
                with open(ranges) as f:
                    if len(f.read().splitlines()) >= 5:
                        break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assertFalse(os.path.exists(dst))
        servers.set_faults()
        get = self.ok('get', url, 'r.bin', dst)
        self.assertGreater(get.stats['resumed_bytes'], 0)
        self.assertLess(get.stats['bytes_received'], size)
        self.assertEqual(harness.sha256_file(dst), harness.sha256_file(src))
        self.assertFalse(os.path.exists(ranges))
        self.assertFalse(os.path.exists(dst + '.hoist-download'))

    def test_changed_source_file_rejected(self):
        url = servers.url('changing', **SMALL)
        src = self.path('src')
        harness.write_random(src, 4 * 5 * MIB, 51)
        # Each part takes 1.5 s, so the append lands during the upload.
        servers.set_faults(delay=1.0, delay_ms=1500, only_methods=['PUT'])
        proc = subprocess.Popen(
            [harness.TOOL, 'put', url, 'c.bin', src],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=harness.tool_env())
        time.sleep(0.5)
        with open(src, 'ab') as f:
            f.write(b'appended while uploading')
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 1, out)
        self.assertIn(b'changed while it was uploaded', err)
        self.assertIn('not found', tool('head', url, 'c.bin').stderr)

    def test_bad_store_urls_rejected(self):
        cases = [
            ('s3://Bad_Bucket/x?region=us-east-1', 'invalid bucket name'),
            ('s3://bucket/x?region=us-east-1&endpoint=ftp://h',
             'must start with http:// or https://'),
            ('s3://bucket/x?region=us-east-1&colour=blue',
             "unknown option 'colour'"),
            ('s3://bucket/x?region=us-east-1&part_size=1MiB', '5MiB'),
            ('s3://bucket/a//b?region=us-east-1', 'empty segment'),
        ]
        for url, text in cases:
            with self.subTest(url=url):
                res = tool('ls', url, '')
                self.assertEqual(res.returncode, 1)
                self.assertIn(text, res.stderr)

    def test_zz_no_secret_in_logs(self):
        """Runs last (by name): greps every log of this run."""
        self.assertEqual(harness.find_leaks(), [])
        self.assertTrue(os.path.getsize(os.path.join(harness.LOG_DIR,
                                                     'tool.log')) > 0)


class SkewTest(unittest.TestCase):
    """A server whose clock runs an hour ahead of the client's."""

    def test_skewed_clock_corrected(self):
        skewed = harness.Servers('skew', skew_seconds=3600)
        try:
            url = skewed.url('skew')
            res = tool('put-bytes', url, 'k.txt', 'late')
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertEqual(res.stats['skew_corrections'], 1)
            self.assertEqual(res.stats['requests'], 2)
            self.assertEqual(skewed.stats()['skew_rejections'], 1)
            res = tool('get-bytes', url, 'k.txt')
            self.assertEqual(res.stdout, 'late')
        finally:
            skewed.stop()


if __name__ == '__main__':
    unittest.main()
