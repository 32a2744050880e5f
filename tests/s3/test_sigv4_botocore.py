"""The SigV4 signer of hoist against botocore's, on a table of requests.

For every case, `s3_tool sign-table` prints hoist's Authorization header
and presigned URL, and botocore (Debian python3-botocore) signs the same
request with its S3SigV4Auth and S3SigV4QueryAuth at the same pinned
time.  The two must agree exactly.
"""
import datetime
import hashlib
import json
import os
import subprocess
import tempfile
import unittest
import urllib.parse
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

import harness

KEYS = [
    'plain/key.bin',
    'with space/and+plus.bin',
    'at@sign/paren(1)/percent%41/equals=x.bin',
    'sub-delims/!$&\'()*+,;=:@.bin',
    'tilde~under_score-dash.dot',
    'caf\u00e9/\u65e5\u672c\u8a9e/\U0001f600.bin',
    'jobs/j-3f9a2c1d/checkpoints/a1-s250/files/model/weights.bin',
]
REGIONS = ['us-east-1', 'eu-west-3', 'ap-southeast-2', 'cn-north-1',
           'us-gov-west-1']
TIMES = [1733340000, 1709164799, 1709164800, 951782400, 1893456000]
CREDS = [('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', None),
         (harness.ACCESS_KEY, harness.SECRET_KEY, harness.SESSION_TOKEN)]
BODY = b'the body of a signed PUT\n'


def cases():
    table = []
    n = 0
    for i, key in enumerate(KEYS):
        for method, query, payload, extra in [
                ('GET', {}, None, {}),
                ('PUT', {}, 'UNSIGNED-PAYLOAD', {}),
                ('PUT', {}, hashlib.sha256(BODY).hexdigest(), {}),
                ('POST', {'uploads': ''}, None, {}),
                ('PUT', {'partNumber': '7',
                         'uploadId': 'VXBsb2FkIElE/+=x~y z'},
                 'UNSIGNED-PAYLOAD', {}),
                ('DELETE', {'uploadId': '2~abc/def+ghi='}, None, {}),
                ('PUT', {}, None,
                 {'x-amz-copy-source': '/hoist-test/' +
                  urllib.parse.quote(KEYS[(i + 1) % len(KEYS)],
                                     safe='/~')}),
                ('HEAD', {}, None, {})]:
            access, secret, token = CREDS[n % len(CREDS)]
            table.append({
                'method': method, 'key': key, 'query': query,
                'payload': payload, 'extra': extra,
                'region': REGIONS[n % len(REGIONS)],
                'time': TIMES[n % len(TIMES)],
                'access_key': access, 'secret_key': secret, 'token': token,
                'path_style': n % 3 != 0,
            })
            n += 1
    for query in [{'list-type': '2', 'prefix': 'jobs/j 1/+x=',
                   'max-keys': '1000'},
                  {'list-type': '2', 'prefix': '',
                   'continuation-token': '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm'
                                         '36Hy4vbOwM=', 'max-keys': '3'},
                  {'uploads': '', 'prefix': 'jobs/', 'key-marker': 'a b',
                   'upload-id-marker': 'x/y+z'}]:
        for j, (access, secret, token) in enumerate(CREDS):
            table.append({
                'method': 'GET', 'key': None, 'query': query,
                'payload': None, 'extra': {},
                'region': REGIONS[(n + j) % len(REGIONS)],
                'time': TIMES[(n + j) % len(TIMES)],
                'access_key': access, 'secret_key': secret, 'token': token,
                'path_style': j == 0,
            })
        n += 1
    for case in table:
        case['bucket'] = 'hoist-test'
        case['host'] = ('s3.%s.amazonaws.com' % case['region']
                        if case['path_style'] else
                        'hoist-test.s3.%s.amazonaws.com' % case['region'])
        if case['payload'] is None:
            case['payload'] = hashlib.sha256(b'').hexdigest()
    return table


def url_of(case):
    path = '/' + urllib.parse.quote(case['key'], safe='/~') \
        if case['key'] is not None else '/'
    if case['path_style']:
        path = '/' + case['bucket'] + (path if case['key'] is not None
                                       else '')
    return 'http://%s%s' % (case['host'], path)


def frozen(seconds):
    """Patches the clock of botocore.auth to the given Unix time."""
    fixed = datetime.datetime.utcfromtimestamp(seconds)
    patcher = mock.patch('botocore.auth.datetime')
    fake = patcher.start()
    fake.datetime.utcnow.return_value = fixed
    fake.datetime.strptime = datetime.datetime.strptime
    return patcher


def botocore_sign(case):
    creds = botocore.credentials.Credentials(
        case['access_key'], case['secret_key'], case['token'])
    # botocore computes the payload hash itself: from the body, or
    # UNSIGNED-PAYLOAD when the client configuration disables signing it.
    body = BODY if case['payload'] == hashlib.sha256(BODY).hexdigest() \
        else b''
    req = botocore.awsrequest.AWSRequest(
        method=case['method'], url=url_of(case), headers=dict(case['extra']),
        params=dict(case['query']), data=body)
    if case['payload'] == 'UNSIGNED-PAYLOAD':
        req.context['client_config'] = botocore.config.Config(
            s3={'payload_signing_enabled': False})
    patcher = frozen(case['time'])
    try:
        botocore.auth.S3SigV4Auth(creds, 's3', case['region']).add_auth(req)
        authorization = req.headers['Authorization']
        presign = botocore.awsrequest.AWSRequest(
            method=case['method'], url=url_of(case),
            params=dict(case['query']))
        botocore.auth.S3SigV4QueryAuth(creds, 's3', case['region'],
                                       expires=900).add_auth(presign)
    finally:
        patcher.stop()
    return authorization, presign.prepare().url


def tool_table(case):
    """The case in the form s3_tool sign-table reads."""
    amz_date = datetime.datetime.utcfromtimestamp(case['time']).strftime(
        '%Y%m%dT%H%M%SZ')
    headers = {'host': case['host'], 'x-amz-date': amz_date,
               'x-amz-content-sha256': case['payload']}
    if case['token']:
        headers['x-amz-security-token'] = case['token']
    headers.update(case['extra'])
    return {'method': case['method'], 'key': case['key'],
            'query': case['query'], 'headers': headers,
            'payload_hash': case['payload'], 'region': case['region'],
            'time': case['time'], 'access_key': case['access_key'],
            'secret_key': case['secret_key'], 'token': case['token'],
            'bucket': case['bucket'], 'host': case['host'].split(
                case['bucket'] + '.', 1)[-1] if not case['path_style']
            else case['host'], 'path_style': case['path_style']}


class SigV4Test(unittest.TestCase):
    def test_signatures_match_botocore(self):
        table = cases()
        with tempfile.NamedTemporaryFile('w', suffix='.json') as f:
            json.dump([tool_table(c) for c in table], f)
            f.flush()
            out = subprocess.run([harness.TOOL, 'sign-table', f.name],
                                 capture_output=True, text=True,
                                 env=harness.tool_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(len(lines), 2 * len(table))
        for i, case in enumerate(table):
            label = '%s %s %r' % (case['method'], case['region'],
                                  case['key'] or case['query'])
            with self.subTest(case=label):
                auth, url = botocore_sign(case)
                self.assertEqual(lines[2 * i], auth)
                ours = urllib.parse.urlsplit(lines[2 * i + 1])
                theirs = urllib.parse.urlsplit(url)
                self.assertEqual(ours.netloc, theirs.netloc)
                self.assertEqual(ours.path, theirs.path)
                self.assertEqual(
                    sorted(urllib.parse.parse_qsl(ours.query, True)),
                    sorted(urllib.parse.parse_qsl(theirs.query, True)))

    def test_table_covers_the_hard_cases(self):
        table = cases()
        self.assertGreater(len(table), 50)
        self.assertTrue(any(c['token'] for c in table))
        self.assertTrue(any(not c['token'] for c in table))
        self.assertTrue(any(c['payload'] == 'UNSIGNED-PAYLOAD'
                            for c in table))
        self.assertEqual({c['region'] for c in table}, set(REGIONS))
        self.assertTrue(any(not c['path_style'] for c in table))


if __name__ == '__main__':
    unittest.main()
