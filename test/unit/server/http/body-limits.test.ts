import { expect } from 'chai';
import {
  AUTH_BODY_BYTES,
  JSON_PARSE_HEAP_PER_BYTE,
  JSON_PARSE_HEAP_SHARE,
  maxParseableBodyBytes,
  WRITE_BODY_BYTES,
} from '../../../../server/src/http/body-limits.js';
import {
  JSON_PARSE_HEAP_PER_BYTE as PLAN_HEAP_PER_BYTE,
  JSON_PARSE_HEAP_SHARE as PLAN_HEAP_SHARE,
  JSON_WRITE_BODY_BYTES,
} from '../../../../installer/plan/sizing.constants.js';

const MiB = 1024 * 1024;

describe('body limits (server)', () => {
  it('caps BODY_LIMIT_BYTES at what a quarter of the heap can parse in the worst case', () => {
    // 144 MiB heap: 144 MiB × 0.25 / 32 = 1.125 MiB.
    expect(maxParseableBodyBytes(10 * MiB, 144 * MiB)).to.equal(1152 * 1024);
    expect(maxParseableBodyBytes(64 * 1024, 144 * MiB)).to.equal(64 * 1024);
    expect(maxParseableBodyBytes(10 * MiB, 1 * MiB)).to.equal(8 * 1024);
    expect(maxParseableBodyBytes(10 * MiB, 1)).to.equal(1024);
  });

  it('uses the same worst case as the planner, and route limits well under 1 MiB', () => {
    expect(JSON_PARSE_HEAP_PER_BYTE).to.equal(PLAN_HEAP_PER_BYTE);
    expect(JSON_PARSE_HEAP_SHARE).to.equal(PLAN_HEAP_SHARE);
    expect(WRITE_BODY_BYTES).to.equal(JSON_WRITE_BODY_BYTES);
    expect(AUTH_BODY_BYTES).to.be.at.most(4096);
  });

  it('the measured worst case holds: parsing deep nesting builds at most JSON_PARSE_HEAP_PER_BYTE heap bytes per body byte', () => {
    // Retained size, measured after the parse (the peak is bounded in the integration test by a 144 MiB worker).
    const bytes = 256 * 1024;
    const shapes = ['['.repeat(bytes / 2) + ']'.repeat(bytes / 2), `[${'{},'.repeat(bytes / 3 - 1)}{}]`];
    for (const text of shapes) {
      const before = process.memoryUsage().heapUsed;
      const value = JSON.parse(text) as unknown;
      const grown = process.memoryUsage().heapUsed - before;
      expect(value).to.not.equal(undefined);
      expect(grown / text.length).to.be.below(JSON_PARSE_HEAP_PER_BYTE);
    }
  });
});
