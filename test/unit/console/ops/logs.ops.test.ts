import { expect } from 'chai';
import { Readable } from 'node:stream';
import { decodeLogLines, formatLogLine, mergeByTime, splitTimestamp, type LogLine } from '../../../../console/ops/logs.ops.js';

const frame = (stream: 1 | 2, text: string) => {
  const p = Buffer.from(text);
  const hdr = Buffer.alloc(8);
  hdr[0] = stream;
  hdr.writeUInt32BE(p.length, 4);
  return Buffer.concat([hdr, p]);
};
const meta = { service: 'backend', replica: 2, container: 'abc123def456' };

describe('logs: decoding and merging', () => {
  it('splits Docker timestamps off', () => {
    expect(splitTimestamp('2026-11-29T08:41:15.823456789Z {"msg":"x"}')).to.deep.equal({ time: '2026-11-29T08:41:15.823456789Z', text: '{"msg":"x"}' });
    expect(splitTimestamp('no time here')).to.deep.equal({ time: null, text: 'no time here' });
  });

  for (const [kind, make] of [
    ['Buffer', (b: Buffer) => b],
    ['string (TTY)', (b: Buffer) => b.toString()],
    ['stream in odd chunks', (b: Buffer) => Readable.from([b.subarray(0, 5), b.subarray(5, 13), b.subarray(13)])],
  ] as const) {
    it(`decodes a ${kind} into tagged lines without frame bytes`, async () => {
      const framed = Buffer.concat([frame(1, '2026-01-01T00:00:01Z first\n2026-01-01T00:00:02Z second\n'), frame(2, '2026-01-01T00:00:03Z third')]);
      const input = kind === 'string (TTY)' ? '2026-01-01T00:00:01Z first\n2026-01-01T00:00:02Z second\n' : framed;
      const lines: LogLine[] = [];
      const n = await decodeLogLines((make as (b: Buffer) => unknown)(input as Buffer), meta, (l) => lines.push(l));
      expect(n).to.equal(lines.length);
      expect(lines.map((l) => l.line)).to.deep.equal(kind === 'string (TTY)' ? ['first', 'second'] : ['first', 'second', 'third']);
      expect(lines.every((l) => !/[\x00-\x08]/.test(l.line) && l.replica === 2)).to.equal(true);
      if (kind !== 'string (TTY)') expect(lines[2]!.stream).to.equal('stderr');
    });
  }

  it('merges replicas by timestamp and formats with the replica number', () => {
    const l = (replica: number, time: string, line: string): LogLine => ({ service: 'backend', replica, container: 'c', stream: 'stdout', time, line });
    const merged = mergeByTime([[l(1, '2026-01-01T00:00:01Z', 'a'), l(1, '2026-01-01T00:00:03Z', 'c')], [l(2, '2026-01-01T00:00:02Z', 'b')]]);
    expect(merged.map((x) => x.line)).to.deep.equal(['a', 'b', 'c']);
    expect(formatLogLine(merged[1]!)).to.equal('backend#2 | b');
    expect(formatLogLine(merged[1]!, { timestamps: true })).to.equal('backend#2 | 2026-01-01T00:00:02Z b');
  });
});
