import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { edgePorts, edgeUrls, readTlsPair, tlsRecord } from '../../../installer/apply/edge.tls.js';
import { UsageError } from '../../../installer/errors.js';
import { makeTestCerts, type TestCerts } from '../../tls.fixtures.js';

describe('apply: TLS at the edge', () => {
  let certs: TestCerts;
  before(() => {
    certs = makeTestCerts();
  });
  after(() => rmSync(certs.dir, { recursive: true, force: true }));

  it('reads a matching certificate and key, and records no key material', async () => {
    const pair = await readTlsPair(certs.cert, certs.key);
    expect(pair.certPem.trim()).to.equal(readFileSync(certs.cert, 'utf8').trim());
    expect(pair.subject).to.equal('CN=carebox.test');
    expect(Date.parse(pair.notAfter)).to.be.greaterThan(Date.now());
    expect(pair.fingerprint256).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const rec = tlsRecord(pair, 8443);
    expect(rec).to.deep.equal({ httpsPort: 8443, subject: 'CN=carebox.test', notAfter: pair.notAfter, fingerprint256: pair.fingerprint256 });
    expect(JSON.stringify(rec)).to.not.include('PRIVATE');
  });

  const refusals: [string, () => Promise<unknown>, RegExp][] = [
    ['a key of another certificate', () => readTlsPair(certs.cert, certs.otherKey), /does not belong/],
    ['an encrypted key', () => readTlsPair(certs.cert, certs.encryptedKey), /encrypted/],
    ['a missing file', () => readTlsPair(join(certs.dir, 'nope.pem'), certs.key), /no such file/],
    ['a key given as the certificate', () => readTlsPair(certs.key, certs.key), /not a PEM certificate/],
    ['an expired certificate', () => readTlsPair(certs.cert, certs.key, new Date(Date.now() + 400 * 86_400_000)), /expired/],
  ];
  for (const [what, call, why] of refusals) {
    it(`refuses ${what} with a UsageError (exit 2)`, async () => {
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(UsageError);
      expect((err as UsageError).message).to.match(why);
    });
  }

  it('keeps only the certificate blocks of a combined cert+key file (the key never lands in cert.pem)', async () => {
    const combined = join(certs.dir, 'combined.pem');
    writeFileSync(combined, readFileSync(certs.key, 'utf8') + readFileSync(certs.cert, 'utf8'));
    const pair = await readTlsPair(combined, certs.key);
    expect(pair.certPem).to.not.include('PRIVATE');
    expect(pair.certPem.trim()).to.equal(readFileSync(certs.cert, 'utf8').trim());
  });

  it('refuses a certificate that is not valid yet', async () => {
    const err = await readTlsPair(certs.cert, certs.key, new Date(Date.now() - 2 * 86_400_000)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UsageError);
    expect((err as UsageError).message).to.match(/not valid before/);
  });

  it('refuses a file that is not PEM at all', async () => {
    const junk = join(certs.dir, 'junk.pem');
    writeFileSync(junk, 'hello');
    const err = await readTlsPair(certs.cert, junk).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UsageError);
  });

  it('publishes HTTPS on the bind address and HTTP on loopback only when TLS is on', () => {
    expect(edgePorts({ port: 80, bindAddress: '0.0.0.0' })).to.deep.equal([{ port: 80, bindAddress: '0.0.0.0', scheme: 'http' }]);
    const tls = { httpsPort: 443, subject: 'CN=x', notAfter: '2030-01-01T00:00:00.000Z', fingerprint256: 'AA' };
    expect(edgePorts({ port: 8080, bindAddress: '10.0.0.5', tls })).to.deep.equal([
      { port: 443, bindAddress: '10.0.0.5', scheme: 'https' },
      { port: 8080, bindAddress: '127.0.0.1', scheme: 'http' },
    ]);
    expect(edgeUrls({ port: 8080, bindAddress: '10.0.0.5', tls })).to.deep.equal({ internal: 'http://127.0.0.1:8080/', public: 'https://10.0.0.5/' });
    expect(edgeUrls({ port: 8080, bindAddress: '0.0.0.0', tls: { ...tls, httpsPort: 8443 } }).public).to.equal('https://127.0.0.1:8443/');
    expect(edgeUrls({ port: 80, bindAddress: '0.0.0.0' })).to.deep.equal({ internal: 'http://127.0.0.1:80/', public: 'http://127.0.0.1:80/' });
  });
});
