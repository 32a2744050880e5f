"""Objects written by hoist read back by the AWS CLI and rclone, and the
other way round, through the signature-checking proxy in front of s3rver.

Needs Debian's awscli and rclone (scripts/deps.sh installs them).
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import tool

AWS = '/usr/bin/aws'
RCLONE = '/usr/bin/rclone'
MIB = 1 << 20
SMALL = {'threshold': '6MiB', 'part_size': '5MiB', 'chunk_size': '1MiB'}
KEYS = ['interop/plain.bin', 'interop/sp ace+\u00e9(1)@=.bin']
SIZES = [3 * MIB + 1, 17 * MIB + 3]    # a single PUT and a multipart upload

servers = None


def setUpModule():
    global servers
    for program in (AWS, RCLONE):
        if not os.access(program, os.X_OK):
            raise RuntimeError('%s is missing; run scripts/deps.sh' %
                               program)
    harness.run_setup()
    servers = harness.Servers('interop')


def tearDownModule():
    if servers:
        servers.stop()
    harness.remove_logs()


def client_env(home):
    env = harness.tool_env({'HOME': home, 'AWS_REGION': harness.REGION,
                            'AWS_EC2_METADATA_DISABLED': 'true',
                            'AWS_PAGER': ''})
    prefix = 'RCLONE_CONFIG_HOIST_'
    env.update({prefix + 'TYPE': 's3', prefix + 'PROVIDER': 'Other',
                prefix + 'ENDPOINT': 'http://127.0.0.1:%d' % servers.port,
                prefix + 'REGION': harness.REGION,
                prefix + 'ACCESS_KEY_ID': harness.ACCESS_KEY,
                prefix + 'SECRET_ACCESS_KEY': harness.SECRET_KEY,
                prefix + 'SESSION_TOKEN': harness.SESSION_TOKEN})
    return env


class InteropTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='hoist-s3-interop-')
        self.env = client_env(self.tmp)
        servers.set_faults()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_client(self, *cmd):
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env=self.env, timeout=600)
        with open(os.path.join(harness.LOG_DIR, 'clients.log'), 'a') as f:
            f.write('$ %s\n%s%s[exit %d]\n' % (' '.join(cmd), proc.stdout,
                                               proc.stderr, proc.returncode))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc

    def aws(self, *args):
        return self.run_client(AWS, '--endpoint-url',
                               'http://127.0.0.1:%d' % servers.port,
                               '--no-progress', 's3', *args)

    def rclone(self, *args):
        return self.run_client(RCLONE, '--config', '/dev/null',
                               '--s3-upload-cutoff', '5M',
                               '--s3-chunk-size', '5M', *args)

    def local(self, name):
        return os.path.join(self.tmp, name)

    def test_hoist_objects_read_by_aws_cli_and_rclone(self):
        url = servers.url('h', **SMALL)
        for i, (key, size) in enumerate(zip(KEYS, SIZES)):
            with self.subTest(key=key, size=size):
                src = self.local('src%d' % i)
                harness.write_random(src, size, 100 + i)
                res = tool('put', url, key, src)
                self.assertEqual(res.returncode, 0, res.stderr)
                s3_url = 's3://%s/h/%s' % (harness.BUCKET, key)
                self.aws('cp', s3_url, self.local('aws%d' % i))
                self.rclone('copyto', 'hoist:%s/h/%s' % (harness.BUCKET,
                                                         key),
                            self.local('rclone%d' % i))
                digest = harness.sha256_file(src)
                self.assertEqual(harness.sha256_file(self.local('aws%d' % i)),
                                 digest)
                self.assertEqual(
                    harness.sha256_file(self.local('rclone%d' % i)), digest)

    def test_aws_cli_and_rclone_objects_read_by_hoist(self):
        url = servers.url('c', **SMALL)
        for i, (key, size) in enumerate(zip(KEYS, SIZES)):
            with self.subTest(key=key, size=size):
                src = self.local('src%d' % i)
                harness.write_random(src, size, 200 + i)
                digest = harness.sha256_file(src)
                self.aws('cp', src, 's3://%s/c/aws/%s' % (harness.BUCKET,
                                                          key))
                self.rclone('copyto', src, 'hoist:%s/c/rclone/%s' %
                            (harness.BUCKET, key))
                for client in ('aws', 'rclone'):
                    dst = self.local('%s-%d' % (client, i))
                    res = tool('get', url, '%s/%s' % (client, key), dst)
                    self.assertEqual(res.returncode, 0, res.stderr)
                    self.assertEqual(res.stdout.split(), [str(size), digest])
                    self.assertEqual(harness.sha256_file(dst), digest)
        res = tool('ls', url, '')
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(len(res.stdout.splitlines()), 2 * len(KEYS))
        self.assertEqual(servers.stats()['signature_failures'], 0)

    def test_zz_no_secret_in_logs(self):
        """Runs last (by name): greps every log of this run."""
        self.assertEqual(harness.find_leaks(), [])
        self.assertTrue(os.path.getsize(os.path.join(harness.LOG_DIR,
                                                     'clients.log')) > 0)


if __name__ == '__main__':
    unittest.main()
