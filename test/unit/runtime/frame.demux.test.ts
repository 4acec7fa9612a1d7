import { expect } from 'chai';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { chunksOf, FrameDemuxer, LineSplitter } from '../../../installer/runtime/frame.demux.js';
import { demuxDockerLogs } from '../../../installer/runtime/container.logs.js';

const frame = (stream: 1 | 2, text: string | Buffer) => {
  const payload = typeof text === 'string' ? Buffer.from(text) : text;
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
};

function feed(d: FrameDemuxer, chunks: Buffer[]) {
  const out = chunks.flatMap((c) => d.push(c));
  out.push(...d.end());
  return out.map((c) => ({ stream: c.stream, text: c.data.toString() }));
}

describe('FrameDemuxer (Docker attach/log stream format, incremental)', () => {
  it('splits stdout and stderr frames', () => {
    const out = feed(new FrameDemuxer(), [Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more\n')])]);
    expect(out).to.deep.equal([
      { stream: 'stdout', text: 'out\n' },
      { stream: 'stderr', text: 'err\n' },
      { stream: 'stdout', text: 'more\n' },
    ]);
  });

  it('keeps a header and a payload split across chunks (byte by byte)', () => {
    const all = Buffer.concat([frame(1, 'hello world\n'), frame(2, 'oops\n')]);
    const bytes = [...all].map((b) => Buffer.from([b]));
    const out = feed(new FrameDemuxer(), bytes);
    expect(out.map((o) => o.stream)).to.deep.equal(['stdout', 'stderr']);
    expect(out.map((o) => o.text).join('')).to.equal('hello world\noops\n');
  });

  it('any chunking of framed output gives the same text as the one-shot demuxer (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(1 as const, 2 as const), fc.string({ minLength: 1, maxLength: 40 })), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 30 }),
        (frames, cuts) => {
          const all = Buffer.concat(frames.map(([s, t]) => frame(s, t)));
          const chunks: Buffer[] = [];
          let off = 0;
          for (let i = 0; off < all.length; i++) {
            const n = cuts[i % cuts.length]!;
            chunks.push(all.subarray(off, off + n));
            off += n;
          }
          const got = feed(new FrameDemuxer(), chunks);
          const want = frames.map(([s, t]) => ({ stream: s === 2 ? 'stderr' : 'stdout', text: t }));
          expect(got.map((g) => `${g.stream}:${g.text}`).join('|')).to.equal(want.map((w) => `${w.stream}:${w.text}`).join('|'));
        },
      ),
    );
  });

  it('passes a TTY (unframed) stream and a string through as stdout', () => {
    expect(feed(new FrameDemuxer(), [Buffer.from('plain text line\n')])).to.deep.equal([{ stream: 'stdout', text: 'plain text line\n' }]);
    const d = new FrameDemuxer();
    expect(d.push('ab')).to.deep.equal([]); // waits for 8 bytes before deciding
    expect(d.end().map((c) => c.data.toString())).to.deep.equal(['ab']);
  });
});

describe('LineSplitter', () => {
  it('joins lines across chunks, drops \\r, keeps a multi-byte character split between chunks', () => {
    const s = new LineSplitter();
    const euro = Buffer.from('€');
    const lines = [
      ...s.push(Buffer.from('one\r\ntw')),
      ...s.push(Buffer.concat([Buffer.from('o '), euro.subarray(0, 1)])),
      ...s.push(Buffer.concat([euro.subarray(1), Buffer.from('\nlast')])),
    ];
    expect(lines).to.deep.equal(['one', 'two €']);
    expect(s.end()).to.deep.equal(['last']);
  });
});

describe('chunksOf (whatever dockerode returned)', () => {
  it('accepts a Buffer, a string and a stream', async () => {
    const collect = async (raw: unknown) => {
      const out: string[] = [];
      for await (const c of chunksOf(raw)) out.push(c.toString());
      return out.join('');
    };
    expect(await collect(Buffer.from('a'))).to.equal('a');
    expect(await collect('b')).to.equal('b');
    expect(await collect(Readable.from([Buffer.from('c'), Buffer.from('d')]))).to.equal('cd');
    let threw = false;
    try {
      await collect(42);
    } catch {
      threw = true;
    }
    expect(threw).to.equal(true);
  });
});

describe('demuxDockerLogs: a whole buffer through the same parser', () => {
  const frame = (stream: 1 | 2, text: string): Buffer => {
    const payload = Buffer.from(text, 'utf8');
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  it('splits framed output by stream and drops a truncated last frame', () => {
    const all = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, 'cut off').subarray(0, 11)]);
    expect(demuxDockerLogs(all).frames).to.deep.equal([
      { stream: 'stdout', text: 'out one\n' },
      { stream: 'stderr', text: 'err one\n' },
    ]);
  });

  it('passes TTY output, short output and strings through as stdout', () => {
    expect(demuxDockerLogs(Buffer.from('plain line\n')).frames).to.deep.equal([{ stream: 'stdout', text: 'plain line\n' }]);
    expect(demuxDockerLogs(Buffer.from('ok\n')).frames).to.deep.equal([{ stream: 'stdout', text: 'ok\n' }]);
    expect(demuxDockerLogs('a string').frames).to.deep.equal([{ stream: 'stdout', text: 'a string' }]);
    expect(demuxDockerLogs(Buffer.alloc(0)).frames).to.deep.equal([]);
  });
});
