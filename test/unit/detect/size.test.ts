import { expect } from 'chai';
import { UsageError } from '../../../installer/errors.js';
import { formatBytes, parseSize } from '../../../installer/detect/size.js';

describe('detect/size', () => {
  describe('parseSize', () => {
    const cases: [string, number][] = [
      ['1024', 1024],
      ['0', 0],
      ['512b', 512],
      ['1k', 1024],
      ['8g', 8 * 1024 ** 3],
      ['8G', 8 * 1024 ** 3],
      ['8gb', 8 * 1024 ** 3],
      ['8GiB', 8 * 1024 ** 3],
      ['512MiB', 512 * 1024 ** 2],
      ['512m', 512 * 1024 ** 2],
      ['1.5GiB', 1.5 * 1024 ** 3],
      ['1.5 GiB', 1.5 * 1024 ** 3],
      ['2t', 2 * 1024 ** 4],
      ['.5k', 512],
      [' 4g ', 4 * 1024 ** 3],
    ];
    for (const [text, bytes] of cases) {
      it(`'${text}' → ${bytes}`, () => expect(parseSize(text)).to.equal(bytes));
    }
    it('rounds fractional bytes down', () => expect(parseSize('1.5')).to.equal(1));
    for (const bad of ['', '  ', 'g', '8x', '8 gigs', '-1g', '1e3', '5i', '1,5g', 'NaN', '99999999999p']) {
      it(`rejects '${bad}' with a UsageError (exit 2) and a hint`, () => {
        try {
          parseSize(bad);
          expect.fail('should have thrown');
        } catch (err) {
          expect(err).to.be.instanceOf(UsageError);
          expect((err as UsageError).exitCode).to.equal(2);
          expect((err as UsageError).hint).to.contain('8g');
        }
      });
    }
  });

  describe('formatBytes', () => {
    it('uses the largest binary unit with at most two decimals', () => {
      expect(formatBytes(1.5 * 1024 ** 3)).to.equal('1.5 GiB');
      expect(formatBytes(1024 ** 3)).to.equal('1 GiB');
      expect(formatBytes(24684100 * 1024)).to.equal('23.54 GiB');
      expect(formatBytes(512)).to.equal('512 B');
      expect(formatBytes(0)).to.equal('0 B');
      expect(formatBytes(1024)).to.equal('1 KiB');
      expect(formatBytes(1024 ** 4)).to.equal('1 TiB');
    });
    it('carries a rounded 1024 into the next unit', () => {
      expect(formatBytes(1024 ** 2 - 1)).to.equal('1 MiB');
    });
    it('round-trips through parseSize for whole-unit sizes', () => {
      for (const s of ['1 KiB', '3 MiB', '1.5 GiB', '7 TiB']) expect(formatBytes(parseSize(s))).to.equal(s);
    });
  });
});
