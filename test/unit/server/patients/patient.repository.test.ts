import { expect } from 'chai';
import knex from 'knex';
import { escapeLike, PatientRepository } from '../../../../server/src/patients/patient.repository.js';
import { createPatientBody, mrnSchema } from '../../../../server/src/patients/patient.schemas.js';

describe('server patients: search query and input rules', () => {
  const repo = new PatientRepository(knex({ client: 'pg' }));

  it('escapes LIKE wildcards in search words', () => {
    expect(escapeLike('100%_a\\b')).to.equal('100\\%\\_a\\\\b');
  });

  it('searches by exact MRN or name prefixes on the folded "C" name keys (term folded by the same SQL function), in keyset order', () => {
    const one = repo.searchQuery({ q: 'Cur' }, 26).toSQL();
    expect(one.sql).to.match(
      /"mrn" = \? or "name_key_family" like \(public\.carebox_name_key\(\?\) \|\| '%'\) or "name_key_given" like \(public\.carebox_name_key\(\?\) \|\| '%'\)/,
    );
    expect(one.bindings).to.deep.equal(['CUR', 'Cur', 'Cur', 26]);
    expect(one.sql).to.match(/order by "name_key_family" asc, "name_key_given" asc, "id" asc limit \?$/);
    const two = repo.searchQuery({ q: 'marie  curie' }, 26).toSQL();
    expect(two.bindings).to.deep.equal(['MARIE  CURIE', 'marie', 'curie', 'marie', 'curie', 26]);
    expect(repo.searchQuery({}, 5).toSQL().sql).not.to.include('where');
  });

  it('normalises MRNs to upper case and refuses impossible birth dates', () => {
    expect(mrnSchema.parse(' ab-12 ')).to.equal('AB-12');
    const base = { mrn: 'A1', givenName: 'A', familyName: 'B', sex: 'unknown' };
    expect(createPatientBody.safeParse({ ...base, birthDate: '1879-12-31' }).success).to.equal(false);
    expect(createPatientBody.safeParse({ ...base, birthDate: '2000-02-30' }).success).to.equal(false);
    expect(createPatientBody.safeParse({ ...base, birthDate: '2000-02-29' }).success).to.equal(true);
  });
});
