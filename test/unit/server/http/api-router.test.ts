import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { expect } from 'chai';
import { ApiRouter } from '../../../../server/src/http/api-router.js';
import { normalizeText, singleLineText } from '../../../../server/src/http/text-input.js';
import { ValidationError } from '../../../../server/src/http/http-error.js';

describe('server http: api router and text input rules', () => {
  const router = () =>
    new ApiRouter({ prefix: '/api/v1', registry: new OpenAPIRegistry(), authenticate: (_req, _res, next) => next(), maxBodyBytes: 32 * 1024 });

  it('refuses to register a route that needs a session but does not say how a refused call is audited', () => {
    const base = { method: 'get' as const, path: '/x', operationId: 'x', summary: 'X', tag: 'x', responses: {}, handler: async () => ({}) };
    expect(() => router().add({ ...base, access: { roles: ['admin'] } })).to.throw(/declares no auditDenied/);
    expect(() => router().add({ ...base, access: { roles: ['admin'] }, auditDenied: { action: 'x.read', resourceType: 'x' } })).not.to.throw();
    expect(() => router().add({ ...base, access: { public: true } })).not.to.throw();
  });

  it('normalizes text to NFC and refuses lone surrogates, naming the field', () => {
    expect(normalizeText({ a: 'U\u0308mit', b: ['e\u0301'], n: 1 }, 'body')).to.deep.equal({ a: '\u00dcmit', b: ['\u00e9'], n: 1 });
    expect(() => normalizeText({ a: { b: 'x\ud800' }, c: '\udc00y' }, 'body'))
      .to.throw(ValidationError)
      .with.property('fields')
      .that.deep.equals([
        { path: 'a.b', message: 'contains an unpaired UTF-16 surrogate (not valid Unicode text)' },
        { path: 'c', message: 'contains an unpaired UTF-16 surrogate (not valid Unicode text)' },
      ]);
    expect(normalizeText('\ud83d\ude00', 'query')).to.equal('\ud83d\ude00');
  });

  it('names refuse control, line-separator and bidi-control characters but keep joiners', () => {
    const name = singleLineText(1, 100);
    for (const bad of ['a\u202Eb', 'a\u202Ab', 'a\u2066b', 'a\u2069', 'a\u200Fb', 'a\u061Cb', 'a\u0007b', 'a\nb', 'a\u2028b'])
      expect(name.safeParse(bad).success, JSON.stringify(bad)).to.equal(false);
    for (const good of ['İlke', 'Ümit', 'O’Brien', 'می\u200Cخواهم', 'क्\u200Dष']) expect(name.safeParse(good).success, good).to.equal(true);
  });
});
