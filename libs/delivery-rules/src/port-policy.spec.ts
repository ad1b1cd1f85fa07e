import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ALLOWED_PORTS, PortPolicy, portProblem, urlPort } from './port-policy';

describe('PortPolicy', () => {
  const def = PortPolicy.parse(DEFAULT_ALLOWED_PORTS);
  it('the default allows the web ports and every unprivileged port, nothing below 1024 else', () => {
    for (const p of [80, 443, 1024, 8080, 65535]) assert.equal(def.allows(p), true, String(p));
    for (const p of [21, 22, 25, 110, 389, 1023]) assert.equal(def.allows(p), false, String(p));
  });
  it('parses ports and ranges with spaces; refuses what is not one', () => {
    assert.equal(PortPolicy.parse(' 8443 , 9000-9001 ').text, '8443,9000-9001');
    for (const bad of ['', '0', '65536', '10-5', 'http', '80;443', '1-2-3']) {
      assert.throws(() => PortPolicy.parse(bad), Error, bad);
    }
  });
});

describe('urlPort / portProblem', () => {
  it("takes the scheme's port when the URL has none", () => {
    assert.equal(urlPort(new URL('http://a.example')), 80);
    assert.equal(urlPort(new URL('https://a.example/x')), 443);
    assert.equal(urlPort(new URL('https://a.example:8443/')), 8443);
  });
  it('names the port and the setting', () => {
    const ports = PortPolicy.parse('443');
    assert.equal(portProblem(new URL('https://a.example/'), ports), null);
    assert.equal(
      portProblem(new URL('http://a.example:25/'), ports),
      'port 25 is not one deliveries may reach (DELIVERY_ALLOWED_PORTS=443)',
    );
  });
});
