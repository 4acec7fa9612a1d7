import { expect } from 'chai';
import fc from 'fast-check';
import { z } from 'zod';
import { decodeCursor, encodeCursor, toPage } from '../../../../server/src/http/pagination.js';
import { HttpError } from '../../../../server/src/http/http-error.js';
import { toOpenApiPath } from '../../../../server/src/http/api-router.js';

const SHAPE = [z.string(), z.uuid()] as const;

describe('server http: keyset pagination cursors', () => {
  it('round-trips any key through an opaque cursor', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), fc.uuid(), (name, id) => {
        const cursor = encodeCursor('users', [name, id]);
        expect(cursor).to.match(/^[A-Za-z0-9_-]+$/);
        expect(decodeCursor('users', cursor, SHAPE)).to.deep.equal([name, id]);
      }),
    );
  });

  it('refuses a cursor of another list, of another shape, or not a cursor at all, with 400 INVALID_CURSOR', () => {
    const id = '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b';
    for (const bad of [encodeCursor('patients', ['a', id]), encodeCursor('users', ['a']), encodeCursor('users', ['a', 'not-a-uuid']), 'nope', '', '%%%']) {
      expect(() => decodeCursor('users', bad, SHAPE), bad)
        .to.throw(HttpError)
        .with.property('code', 'INVALID_CURSOR');
    }
    fc.assert(
      fc.property(fc.string(), (junk) => {
        try {
          decodeCursor('users', junk, SHAPE);
        } catch (err) {
          expect(err).to.be.instanceOf(HttpError);
        }
      }),
    );
    expect(decodeCursor('users', undefined, SHAPE)).to.equal(undefined);
  });

  it('turns limit + 1 rows into a page with a cursor, and limit or fewer into the last page', () => {
    const rows = [1, 2, 3].map((n) => ({ n }));
    const page = toPage(rows, 2, 'nums', (r) => [r.n]);
    expect(page.items).to.deep.equal([{ n: 1 }, { n: 2 }]);
    expect(decodeCursor('nums', page.nextCursor!, [z.number()] as const)).to.deep.equal([2]);
    expect(toPage(rows.slice(0, 2), 2, 'nums', (r) => [r.n]).nextCursor).to.equal(null);
  });

  it('turns Express paths into OpenAPI paths', () => {
    expect(toOpenApiPath('/api/v1/jobs/:queue/:id')).to.equal('/api/v1/jobs/{queue}/{id}');
    expect(toOpenApiPath('/api/v1/patients')).to.equal('/api/v1/patients');
  });
});
