import { expect } from 'chai';
import { ACCESS_LOG_FORMAT, parseAccessLine } from '../../../installer/render/access-log.format.js';
import { countApiRequests } from '../../../console/ops/headroom.js';
import { hashRecordIds } from '../../../console/ops/support.ops.js';
import { fileOf, planFor, renderFor } from './render.helpers.js';

/** A line as nginx writes it with ACCESS_LOG_FORMAT: each variable replaced by a value. */
function lineFor(values: Record<string, string>): string {
  return ACCESS_LOG_FORMAT.replace(/\$([a-z0-9_]+)/g, (_m, name: string) => {
    if (!(name in values)) throw new Error(`no value for $${name}`);
    return values[name]!;
  });
}

const VALUES = {
  remote_addr: '172.18.0.1',
  time_iso8601: '2026-12-07T13:00:10+00:00',
  request_method: 'GET',
  uri: '/api/v1/patients/7e57c0de-1717-4717-8717-171717171717',
  status: '200',
  body_bytes_sent: '512',
  request_time: '0.004',
  upstream_response_time: '0.004',
  request_id: '0123456789abcdef0123456789abcdef',
  upstream_addr: '172.18.0.5:3000',
};

describe('nginx access-log format: one definition, rendered and parsed (issue 12)', () => {
  it('is the log_format nginx.conf renders for every tier', () => {
    for (const tier of ['default', 'optimized', 'horizontal'] as const) {
      expect(fileOf(renderFor(planFor(tier)), 'nginx/nginx.conf')).to.include(`log_format carebox '${ACCESS_LOG_FORMAT}';`);
    }
  });

  it('parses a line written in that format, also one whose request was passed on to a second replica', () => {
    expect(parseAccessLine(lineFor(VALUES))).to.deep.equal({
      remoteAddr: '172.18.0.1',
      timeMs: Date.parse('2026-12-07T13:00:10Z'),
      method: 'GET',
      path: VALUES.uri,
      status: 200,
      bodyBytes: 512,
      requestTimeS: 0.004,
      requestId: VALUES.request_id,
      upstreams: ['172.18.0.5:3000'],
    });
    const retried = parseAccessLine(
      lineFor({
        ...VALUES,
        request_method: 'POST',
        uri: '/api/v1/patients',
        status: '201',
        upstream_response_time: '0.001, 0.010',
        upstream_addr: '172.18.0.5:3000, 172.18.0.6:3000',
      }),
    );
    expect(retried?.upstreams).to.deep.equal(['172.18.0.5:3000', '172.18.0.6:3000']);
    // nginx answered itself (maintenance, no backend): no upstream.
    expect(parseAccessLine(lineFor({ ...VALUES, status: '503', upstream_response_time: '-', upstream_addr: '-' }))?.upstreams).to.deep.equal([]);
  });

  it('parses lines of the format before `upstream=` (a container from before an upgrade), and nothing else', () => {
    expect(parseAccessLine('172.18.0.1 [2026-12-07T13:00:00+00:00] "GET /api/v1/patients" 200 512 0.004 0.004 id=ab')?.path).to.equal('/api/v1/patients');
    expect(parseAccessLine('nginx: [notice] signal process started')).to.equal(null);
    expect(parseAccessLine('2026/12/07 13:00:00 [error] 22#22: *5 connect() failed (111: Connection refused)')).to.equal(null);
  });

  it('feeds the status headroom and the support bundle: API requests counted, record ids hashed', () => {
    const t = Date.parse('2026-12-07T13:00:30Z');
    const log = [lineFor(VALUES), lineFor({ ...VALUES, uri: '/ready' }), lineFor({ ...VALUES, time_iso8601: '2026-12-07T12:58:00+00:00' })].join('\n');
    expect(countApiRequests(log, t - 60_000)).to.equal(1);
    const hashed = hashRecordIds(lineFor(VALUES), Buffer.alloc(32, 7));
    expect(hashed.count).to.equal(1);
    expect(hashed.text).to.match(/"GET \/api\/v1\/patients\/id:[0-9a-f]{12}" 200 /);
    expect(parseAccessLine(hashed.text)?.requestId, 'the hashed line still parses').to.equal(VALUES.request_id);
  });
});
