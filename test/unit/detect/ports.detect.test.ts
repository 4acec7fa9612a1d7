import net from 'node:net';
import { expect } from 'chai';
import type { PortFact } from '../../../installer/detect/host-facts.js';
import { addressesOverlap, detectPorts, parseProcNetTcp, portHolder, probeListen, publishedPorts } from '../../../installer/detect/ports.detect.js';
import { detectAsNobody, isRoot, skipBecause } from './unprivileged.js';

/** Listens on an ephemeral port at `host`; returns the port and a closer. */
async function listen(host: string, port = 0): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, resolve);
  });
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1540 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D888 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 21873 1 0000000000000000 100 0 0 10 0
   2: 0100007F:D888 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000   101        0 21874 1 0000000000000000 100 0 0 10 0
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 32 1 0 100 0 0 10 0
   2: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 33 1 0 100 0 0 10 0
`;

describe('detect/ports.detect', () => {
  it('parseProcNetTcp: LISTEN sockets only, little-endian addresses decoded (IPv4 and IPv6)', () => {
    expect(parseProcNetTcp(TCP)).to.deep.equal([
      { address: '0.0.0.0', port: 2024 },
      { address: '127.0.0.1', port: 55432 },
    ]);
    expect(parseProcNetTcp(TCP6)).to.deep.equal([
      { address: '::', port: 80 },
      { address: '::1', port: 8080 },
      { address: '2001:db8::1', port: 443 },
    ]);
    expect(parseProcNetTcp('garbage\n')).to.deep.equal([]);
  });

  it('addressesOverlap: wildcards clash with everything, distinct addresses do not', () => {
    expect(addressesOverlap('0.0.0.0', '127.0.0.1')).to.equal(true);
    expect(addressesOverlap('127.0.0.1', '::')).to.equal(true);
    expect(addressesOverlap('127.0.0.1', '127.0.0.1')).to.equal(true);
    expect(addressesOverlap('127.0.0.1', '10.0.0.1')).to.equal(false);
  });

  it('portHolder: our own Compose project is named as such, others by container and project', () => {
    const published = publishedPorts([
      {
        Id: 'a1',
        Names: ['/carebox-nginx-1'],
        Labels: { 'com.docker.compose.project': 'carebox' },
        Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }],
      },
      {
        Id: 'b2',
        Names: ['/other_web_1'],
        Labels: { 'com.docker.compose.project': 'other' },
        Ports: [{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: 9090, Type: 'tcp' }],
      },
      {
        Id: 'c3',
        Names: ['/lonely'],
        Labels: {},
        Ports: [
          { IP: '::', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
          { PrivatePort: 22, Type: 'tcp' },
        ],
      },
    ] as never);
    expect(published).to.have.length(2);
    expect(portHolder(8080, '127.0.0.1', published, 'carebox')).to.equal('carebox');
    expect(portHolder(9090, '0.0.0.0', published, 'carebox')).to.equal('container other_web_1 (Compose project other)');
    expect(portHolder(9090, '10.1.1.1', published, 'carebox')).to.equal(null);
    expect(portHolder(5353, '0.0.0.0', published, 'carebox')).to.equal(null);
  });

  it('a port something listens on is not free (EADDRINUSE), on its address and on the wildcard', async () => {
    const held = await listen('127.0.0.1');
    try {
      const facts = await detectPorts([
        { port: held.port, bindAddress: '127.0.0.1' },
        { port: held.port, bindAddress: '0.0.0.0' },
      ]);
      for (const f of facts) expect(f).to.include({ port: held.port, free: false, reason: 'EADDRINUSE', heldBy: null, source: 'listen() probe' });
    } finally {
      await held.close();
    }
    const [after] = await detectPorts([{ port: held.port, bindAddress: '127.0.0.1' }]);
    expect(after).to.include({ free: true, reason: null });
  });

  it('an address this host does not have is reported, not free', async () => {
    const [f] = await detectPorts([{ port: 8080, bindAddress: '192.0.2.1' }]);
    expect(f?.free).to.equal(false);
    expect(f?.reason).to.equal('EADDRNOTAVAIL: 192.0.2.1 is not an address of this host');
  });

  it('an out-of-range port or a malformed address is reported, not thrown', async () => {
    expect(await probeListen(70000, '127.0.0.1')).to.deep.equal({ result: 'unknown', code: 'ERR_SOCKET_BAD_PORT' });
    const [f] = await detectPorts([{ port: 70000, bindAddress: '0.0.0.0' }]);
    expect(f).to.include({ free: false, reason: 'ERR_SOCKET_BAD_PORT' });
    const bad = await probeListen(8080, 'not an address');
    expect(bad.result).to.equal('unknown');
  });

  it('a privileged port without permission (EACCES) is judged from /proc/net/tcp listeners', async function () {
    // Hold a port below 1024 (needs root) and ask as `nobody`, who cannot listen there.
    if (!isRoot) skipBecause(this, 'needs root to hold a privileged port; parseProcNetTcp is covered above');
    const held = await listen('127.0.0.1', 981).catch(() => null);
    if (held === null) skipBecause(this, 'port 981 is already taken on this machine');
    try {
      const facts = await detectAsNobody<PortFact[]>({
        what: 'ports',
        ports: [
          { port: 981, bindAddress: '127.0.0.1' },
          { port: 982, bindAddress: '127.0.0.1' },
        ],
      });
      expect(facts[0]).to.include({ free: false, reason: 'a socket listens on it' });
      expect(facts[0]?.source).to.contain('listen() not permitted: EACCES');
      expect(facts[1]).to.include({ free: true, reason: null });
    } finally {
      await held.close();
    }
  });
});
