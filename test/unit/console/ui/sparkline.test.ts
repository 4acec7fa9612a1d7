import { expect } from 'chai';
import fc from 'fast-check';
import { RingBuffer } from '../../../../console/ui/ring.buffer.js';
import { resample, SPARK_LEVELS, sparkline } from '../../../../console/ui/sparkline.js';

describe('console ui: sparkline', () => {
  it('maps 0..max onto ▁..█ and pads short series on the left', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).to.equal('▁▂▃▄▅▆▇█');
    expect(sparkline([0, 7], 5)).to.equal('   ▁█');
    expect(sparkline([], 3)).to.equal('   ');
  });

  it('scales from zero (a flat positive series is full, all zeros is the lowest block); null and non-finite are gaps', () => {
    expect(sparkline([5, 5, 5], 3)).to.equal('███');
    expect(sparkline([0, 0, 0], 3)).to.equal('▁▁▁');
    expect(sparkline([0, null, 7, NaN], 4)).to.equal('▁ █ ');
  });

  it('honours fixed min/max (a pool gauge against its max)', () => {
    expect(sparkline([0, 5, 10], 3, { min: 0, max: 10 })).to.equal('▁▅█');
    expect(sparkline([20], 1, { min: 0, max: 10 })).to.equal('█');
  });

  it('squeezes long series keeping each group’s peak', () => {
    expect(resample([1, 9, 1, 1, 1, 1], 3)).to.deep.equal([9, 1, 1]);
    expect(resample([null, null, 3, null], 2)).to.deep.equal([null, 3]);
    const s = sparkline(
      Array.from({ length: 150 }, (_, i) => (i === 75 ? 100 : 1)),
      30,
    );
    expect(s).to.include('█');
  });

  it('is always exactly `width` characters of the eight levels or spaces (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.double({ noNaN: false }), { nil: null }), { maxLength: 400 }), fc.integer({ min: 0, max: 120 }), (values, width) => {
        const s = sparkline(values, width);
        expect([...s]).to.have.length(width);
        for (const ch of s) expect([' ', ...SPARK_LEVELS]).to.include(ch);
      }),
    );
  });
});

describe('console ui: ring buffer', () => {
  it('keeps the newest `capacity` samples in order', () => {
    const r = new RingBuffer<number>(3);
    expect(r.toArray()).to.deep.equal([]);
    expect(r.last()).to.equal(undefined);
    for (const n of [1, 2, 3, 4, 5]) r.push(n);
    expect(r.toArray()).to.deep.equal([3, 4, 5]);
    expect(r.size).to.equal(3);
    expect(r.last()).to.equal(5);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new RingBuffer(0)).to.throw(RangeError);
    expect(() => new RingBuffer(1.5)).to.throw(RangeError);
  });

  it('matches a plain array’s tail for any pushes (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer(), { maxLength: 100 }), (cap, xs) => {
        const r = new RingBuffer<number>(cap);
        xs.forEach((x) => r.push(x));
        expect(r.toArray()).to.deep.equal(xs.slice(-cap));
      }),
    );
  });
});
