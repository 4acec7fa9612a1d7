import { expect } from 'chai';
import { parseEnv } from 'node:util';
import { mergeSecrets, newSecret, ROLE_SECRET_KEYS, SECRET_KEYS } from '../../../installer/apply/secrets.store.js';
import { renderEnv } from '../../../installer/render/env.render.js';
import { UsageError } from '../../../installer/errors.js';

describe('apply: secrets', () => {
  it('generates every secret from the CSPRNG on first run (32 bytes, base64url)', () => {
    const e = mergeSecrets(null);
    expect(e.generated).to.deep.equal([...SECRET_KEYS]);
    for (const k of SECRET_KEYS) expect(e.secrets[k]).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(e.secrets.POSTGRES_PASSWORD).to.not.equal(e.secrets.REDIS_PASSWORD);
    expect(newSecret()).to.not.equal(newSecret());
  });

  it('keeps existing secrets byte-identical and renders the same .env again', () => {
    const first = mergeSecrets(null);
    const text = renderEnv('carebox', first);
    const again = mergeSecrets(text, () => {
      throw new Error('must not generate');
    });
    expect(again.generated).to.deep.equal([]);
    expect(again.secrets).to.deep.equal(first.secrets);
    expect(renderEnv('carebox', again)).to.equal(text);
  });

  it('fills in only a missing secret', () => {
    const e = mergeSecrets(
      'POSTGRES_PASSWORD=kept-0123456789abcdef\nPOSTGRES_OWNER_PASSWORD=kept-owner-0123456789\nPOSTGRES_APP_PASSWORD=kept-app-0123456789ab\n',
    );
    expect(e.secrets.POSTGRES_PASSWORD).to.equal('kept-0123456789abcdef');
    expect(e.generated).to.deep.equal(['REDIS_PASSWORD']);
  });

  it('an install from before the database roles gets only the role passwords added, its other secrets kept', () => {
    const old = 'COMPOSE_PROJECT_NAME=carebox\nPOSTGRES_PASSWORD=kept-0123456789abcdef\nREDIS_PASSWORD=kept-redis-0123456789\n';
    const e = mergeSecrets(old);
    expect(e.generated).to.deep.equal(['POSTGRES_OWNER_PASSWORD', 'POSTGRES_APP_PASSWORD']);
    expect(e.generated.every((k) => ROLE_SECRET_KEYS.has(k))).to.equal(true);
    expect(e.secrets.POSTGRES_PASSWORD).to.equal('kept-0123456789abcdef');
    expect(new Set([e.secrets.POSTGRES_OWNER_PASSWORD, e.secrets.POSTGRES_APP_PASSWORD, e.secrets.POSTGRES_PASSWORD]).size).to.equal(3);
    // Written once, kept from then on.
    const again = mergeSecrets(renderEnv('carebox', e));
    expect(again.generated).to.deep.equal([]);
    expect(again.secrets).to.deep.equal(e.secrets);
  });

  it('keeps variables an admin added (sorted by name) and quotes them so they parse back', () => {
    const base = renderEnv('carebox', mergeSecrets(null));
    const edited = `${base}SMTP_HOST=mail.hospital.local\nSMTP_FROM="Carebox Reminders <noreply@hospital.local>"\n`;
    const e = mergeSecrets(edited);
    expect(e.extra).to.deep.equal([
      ['SMTP_FROM', 'Carebox Reminders <noreply@hospital.local>'],
      ['SMTP_HOST', 'mail.hospital.local'],
    ]);
    const round = parseEnv(renderEnv('carebox', e));
    expect(round.SMTP_FROM).to.equal('Carebox Reminders <noreply@hospital.local>');
  });

  it('refuses a tampered secret instead of regenerating it (that would lock the stack out of its data)', () => {
    expect(() => mergeSecrets('POSTGRES_PASSWORD=\n')).to.throw(UsageError, /POSTGRES_PASSWORD/);
    expect(() => mergeSecrets('REDIS_PASSWORD="has space and $"\n')).to.throw(UsageError, /REDIS_PASSWORD/);
  });
});
