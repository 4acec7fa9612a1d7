import { expect } from 'chai';
import type { LoadRequest } from '../../../../console/ops/loadtest.load.js';
import { mixRequests, SlotAllocator, syntheticMrn, type MixData } from '../../../../console/ops/loadtest.mix.js';

const data: MixData = { mrnPrefix: 'LT-ABC123-', patientCount: 2000, hotPatientIds: ['00000000-0000-4000-8000-000000000001'], clinicianIds: ['c1', 'c2'] };
const FOUND = '00000000-0000-4000-8000-0000000000f0';

/** Builds each request as autocannon would (setupRequest with the shared cycle context). */
function cycle(requests: LoadRequest[], searchAnswer: { status: number; body: string }): LoadRequest[] {
  const context: Record<string, unknown> = {};
  type Setup = (req: LoadRequest, ctx: object) => LoadRequest;
  type OnResponse = (status: number, body: string, ctx: object) => void;
  return requests.map((r, i) => {
    const built = r.setupRequest ? (r.setupRequest as Setup)({ ...r }, context) : r;
    if (i === 0) (r.onResponse as OnResponse)(searchAnswer.status, searchAnswer.body, context);
    return built;
  });
}

describe('loadtest: request mix', () => {
  it('makes synthetic MRNs in the demo-data format', () => {
    expect(syntheticMrn('LT-ABC123-', 42)).to.equal('LT-ABC123-0000042');
  });

  it('hands out slots no two requests share, rotating over the clinicians', () => {
    const slots = new SlotAllocator(['a', 'b', 'c'], Date.UTC(2090, 0, 1), 30);
    const taken = Array.from({ length: 100 }, () => slots.take());
    const keys = new Set(taken.map((s) => `${s.clinicianId} ${s.startsAt}`));
    expect(keys.size).to.equal(100);
    expect(taken[0]).to.deep.equal({ clinicianId: 'a', startsAt: '2090-01-01T00:00:00.000Z', endsAt: '2090-01-01T00:30:00.000Z' });
    expect(taken[3]!.clinicianId).to.equal('a');
    expect(taken[3]!.startsAt).to.equal('2090-01-01T00:30:00.000Z');
    expect(Date.parse(taken[99]!.startsAt)).to.be.below(Date.UTC(2100, 0, 1));
    expect(slots.taken).to.equal(100);
    expect(() => new SlotAllocator([])).to.throw();
  });

  it("one cycle: MRN search, the record it found, a hot record, its appointments, a booking for it — with the user's token", () => {
    const slots = new SlotAllocator(data.clinicianIds);
    const requests = mixRequests('cbx_token', data, { book: true, slots, random: () => 0.5 });
    expect(requests).to.have.length(5);
    for (const r of requests) expect(r.headers!.authorization).to.equal('Bearer cbx_token');
    const built = cycle(requests, { status: 200, body: JSON.stringify({ items: [{ id: FOUND, isSynthetic: true }] }) });
    expect(built[0]!.path).to.equal('/api/v1/patients?q=LT-ABC123-0001001&limit=5');
    expect(built[1]!.path).to.equal(`/api/v1/patients/${FOUND}`);
    expect(built[2]!.path).to.equal(`/api/v1/patients/${data.hotPatientIds[0]}`);
    expect(built[3]!.path).to.equal(`/api/v1/appointments?patientId=${FOUND}&limit=10`);
    expect(built[4]!.method).to.equal('POST');
    const body = JSON.parse(String(built[4]!.body));
    expect(body).to.include({ patientId: FOUND, clinicianId: 'c1', department: 'Load test' });
  });

  it('never follows up on a record that is not synthetic, nor on a failed search: it uses a hot synthetic patient instead', () => {
    for (const answer of [
      { status: 200, body: JSON.stringify({ items: [{ id: FOUND, isSynthetic: false }] }) },
      { status: 503, body: '{}' },
      { status: 200, body: 'not json' },
      { status: 200, body: JSON.stringify({ items: [] }) },
    ]) {
      const built = cycle(mixRequests('t', data, { book: true, slots: new SlotAllocator(data.clinicianIds) }), answer);
      expect(built[1]!.path).to.equal(`/api/v1/patients/${data.hotPatientIds[0]}`);
      expect(JSON.parse(String(built[4]!.body)).patientId).to.equal(data.hotPatientIds[0]);
    }
  });

  it('reads only without booking, and refuses to mix without hot patients or a slot allocator', () => {
    expect(mixRequests('t', data, { book: false })).to.have.length(4);
    expect(() => mixRequests('t', { ...data, hotPatientIds: [] }, { book: false })).to.throw();
    expect(() => mixRequests('t', data, { book: true })).to.throw();
  });
});
