import { expect } from 'chai';
import { findDrift, formatDrift, parseConfigHashes } from '../../../installer/runtime/compose.drift.js';
import type { StackContainer } from '../../../installer/runtime/stack.containers.js';

const h = (c: string) => c.repeat(64);
const c = (service: string, number: number, configHash: string, state = 'running'): StackContainer => ({
  id: `${service}${number}`.padEnd(64, '0'),
  name: `${service}-${number}`,
  service,
  number,
  state,
  health: 'healthy',
  image: 'img',
  created: 0,
  status: 'Up',
  oneoff: false,
  configHash,
});

describe('compose drift', () => {
  it('parses `docker compose config --hash` output', () => {
    expect(parseConfigHashes(`backend ${h('a')}\ndb ${h('b')}\n\nnoise line\n`)).to.deep.equal({ backend: h('a'), db: h('b') });
  });

  it('reports stale hashes, wrong counts and orphans; nothing when all match', () => {
    const hashes = { backend: h('a'), db: h('b') };
    expect(findDrift([c('backend', 1, h('a')), c('backend', 2, h('a')), c('db', 1, h('b'))], hashes, { backend: 2, db: 1 })).to.deep.equal([]);
    const d = findDrift([c('backend', 1, h('x')), c('db', 1, h('b')), c('pgbouncer', 1, h('c'))], hashes, { backend: 2, db: 1 });
    expect(d.map((x) => x.service)).to.deep.equal(['backend', 'pgbouncer']);
    expect(d[0]!.stale).to.deep.equal([{ id: c('backend', 1, '').id, number: 1 }]);
    expect(d[1]!.orphan).to.equal(true);
    expect(formatDrift(d)).to.match(
      /backend: 1\/2 running, 1 with an outdated config \(#1\); pgbouncer: 1 container\(s\) of a service no longer in compose.yml/,
    );
  });
});
