import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressPolicy, checkUrlDestination, ipLiteralOf } from './address-policy';

const strict = new AddressPolicy([]);

describe('AddressPolicy.check', () => {
  const blocked: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:10.1.2.3', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['FE80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['64:ff9b::a9fe:a9fe', 'nat64'],
    ['64:ff9b::7f00:1', 'nat64'],
    ['64:ff9b:1::1', 'nat64'],
    ['2002:7f00:1::', '6to4'],
    ['2002:a9fe:a9fe::1', '6to4'],
    ['2001::1', 'teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
    ['::7f00:1', 'ipv4Compatible'],
    ['::127.0.0.1', 'ipv4Compatible'],
    ['::8.8.8.8', 'ipv4Compatible'], // ipaddr.js alone reads this as ::ffff:8.8.8.8
    ['0:0:0:0:0:0:7f00:1', 'ipv4Compatible'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:0:7f00:1', 'ipv4Translated'],
    ['fec0::1', 'deprecatedSiteLocal'],
    ['100::1', 'discard'],
    ['5f00::1', 'segmentRouting'],
    ['1000::1', 'reserved'], // outside 2000::/3, which ipaddr.js would call unicast
    ['4000::1', 'reserved'],
  ];
  for (const [ip, reason] of blocked) {
    it(`blocks ${ip} as ${reason}`, () => {
      assert.deepEqual(strict.check(ip), { allowed: false, reason });
    });
  }

  for (const ip of [
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '2606:4700::1',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
  ]) {
    it(`allows global unicast ${ip}`, () => {
      assert.deepEqual(strict.check(ip), { allowed: true, reason: 'unicast' });
    });
  }

  for (const ip of [
    '',
    'localhost',
    'example.com',
    '127.1',
    '0x7f.0.0.1',
    '010.0.0.1',
    '2130706433',
    '1.2.3.4.5',
    '::1::',
    '[::1]',
  ]) {
    it(`blocks non-canonical or unparseable ${JSON.stringify(ip)} as invalid`, () => {
      assert.deepEqual(strict.check(ip), { allowed: false, reason: 'invalid' });
    });
  }

  it('does not throw on non-string input', () => {
    assert.deepEqual(strict.check(undefined as unknown as string), { allowed: false, reason: 'invalid' });
  });
});

describe('AddressPolicy allow-list', () => {
  const policy = AddressPolicy.fromCsv(' 127.0.0.0/8, ::1/128 ,,10.1.2.3');

  it('lets allow-listed addresses through, including IPv4-mapped forms of them', () => {
    assert.deepEqual(policy.check('127.0.0.1'), { allowed: true, reason: 'allowlisted' });
    assert.deepEqual(policy.check('::ffff:127.0.0.1'), { allowed: true, reason: 'allowlisted' });
    assert.deepEqual(policy.check('::1'), { allowed: true, reason: 'allowlisted' });
    assert.deepEqual(policy.check('10.1.2.3'), { allowed: true, reason: 'allowlisted' });
  });

  it('still blocks what is outside the allow-list', () => {
    assert.deepEqual(policy.check('10.1.2.4'), { allowed: false, reason: 'private' });
    assert.deepEqual(policy.check('169.254.169.254'), { allowed: false, reason: 'linkLocal' });
    assert.deepEqual(policy.check('64:ff9b::7f00:1'), { allowed: false, reason: 'nat64' });
    assert.deepEqual(policy.check('::2'), { allowed: false, reason: 'ipv4Compatible' });
  });

  it('normalises entries (bare addresses, IPv4-mapped IPv6 CIDRs)', () => {
    assert.deepEqual(policy.allowList, ['127.0.0.0/8', '::1/128', '10.1.2.3/32']);
    const mapped = new AddressPolicy(['::ffff:192.168.0.0/112']);
    assert.deepEqual(mapped.allowList, ['192.168.0.0/16']);
    assert.equal(mapped.check('192.168.4.4').allowed, true);
    assert.equal(mapped.check('192.169.4.4').allowed, true); // public unicast anyway
    assert.equal(mapped.check('10.0.0.1').allowed, false);
  });

  it('an empty CSV allows nothing extra', () => {
    assert.deepEqual(AddressPolicy.fromCsv('').allowList, []);
    assert.equal(AddressPolicy.fromCsv('').check('127.0.0.1').allowed, false);
  });

  for (const bad of ['127.0.0.0/33', 'nonsense', '127.1/8', '10.0.0.0/', 'fe80::/129']) {
    it(`rejects the allow-list entry ${JSON.stringify(bad)} with a clear error`, () => {
      assert.throws(() => AddressPolicy.fromCsv(`10.0.0.0/8,${bad}`), {
        message: `invalid allow-list entry "${bad}": expected a CIDR such as 10.0.0.0/8 or fd00::/8`,
      });
    });
  }
});

describe('ipLiteralOf', () => {
  it('returns IP literals and null for names', () => {
    assert.equal(ipLiteralOf('[::1]'), '::1');
    assert.equal(ipLiteralOf('::1'), '::1');
    assert.equal(ipLiteralOf('[::ffff:7f00:1]'), '::ffff:7f00:1');
    assert.equal(ipLiteralOf('127.0.0.1'), '127.0.0.1');
    assert.equal(ipLiteralOf('example.com'), null);
    assert.equal(ipLiteralOf('localhost'), null);
    assert.equal(ipLiteralOf('[not-an-ip]'), null);
    assert.equal(ipLiteralOf('1.2.3.example'), null);
  });

  it('normalises numeric IPv4 shorthands it is given directly (as URL would)', () => {
    assert.equal(ipLiteralOf('127.1'), '127.0.0.1');
    assert.equal(ipLiteralOf('0x7f.1'), '127.0.0.1');
    assert.equal(ipLiteralOf('2130706433'), '127.0.0.1');
    assert.equal(ipLiteralOf('127.0.0.1.'), '127.0.0.1');
  });

  it('agrees with WHATWG URL normalisation', () => {
    assert.equal(ipLiteralOf(new URL('http://127.1:8080/').hostname), '127.0.0.1');
    assert.equal(ipLiteralOf(new URL('http://0177.0.0.1/').hostname), '127.0.0.1');
    assert.equal(ipLiteralOf(new URL('http://[::ffff:127.0.0.1]/').hostname), '::ffff:7f00:1');
    assert.equal(ipLiteralOf(new URL('http://[64:ff9b::169.254.169.254]/').hostname), '64:ff9b::a9fe:a9fe');
  });
});

describe('checkUrlDestination', () => {
  const blocked: [string, string][] = [
    ['http://127.1:8080/hook', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[::1]:3000/', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://[64:ff9b::a9fe:a9fe]/', 'nat64'],
    ['https://[fd00:ec2::254]/', 'uniqueLocal'],
    ['http://100.64.0.1/', 'carrierGradeNat'],
    ['http://0.0.0.0:80/', 'unspecified'],
    ['http://0/', 'unspecified'],
    ['http://[2002:7f00:1::]/', '6to4'],
    ['http://[2001::1]/', 'teredo'],
    ['http://2130706433/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://10.0.0.1./', 'private'],
  ];
  for (const [url, reason] of blocked) {
    it(`blocks ${url} (${reason})`, () => {
      assert.deepEqual(checkUrlDestination(url, strict), { allowed: false, reason });
    });
  }

  it('allows public literals and leaves names to connect time', () => {
    assert.deepEqual(checkUrlDestination('https://8.8.8.8/hook', strict), {
      allowed: true,
      reason: 'unicast',
    });
    assert.deepEqual(checkUrlDestination('https://[2606:4700::1]/', strict), {
      allowed: true,
      reason: 'unicast',
    });
    assert.deepEqual(checkUrlDestination('https://hooks.example.com/x', strict), {
      allowed: true,
      reason: 'hostname',
    });
    assert.deepEqual(checkUrlDestination('http://localhost:3000/', strict), {
      allowed: true,
      reason: 'hostname',
    });
  });

  it('applies the allow-list to literals', () => {
    const loopback = AddressPolicy.fromCsv('127.0.0.0/8');
    assert.deepEqual(checkUrlDestination('http://127.0.0.1:9000/', loopback), {
      allowed: true,
      reason: 'allowlisted',
    });
    assert.deepEqual(checkUrlDestination('http://127.1:9000/', loopback), {
      allowed: true,
      reason: 'allowlisted',
    });
  });

  it('rejects unparseable URLs and non-http(s) schemes', () => {
    assert.deepEqual(checkUrlDestination('not a url', strict), { allowed: false, reason: 'invalid_url' });
    assert.deepEqual(checkUrlDestination('ftp://8.8.8.8/', strict), {
      allowed: false,
      reason: 'unsupported_scheme',
    });
    assert.deepEqual(checkUrlDestination('file:///etc/passwd', strict), {
      allowed: false,
      reason: 'unsupported_scheme',
    });
  });
});
