import { expect } from 'chai';
import { LATEST_MIGRATION, MIGRATIONS, migrationSource } from '../../../../server/src/db/migrations/index.js';

describe('server db: migration source', () => {
  it('lists migrations oldest first with unique, timestamped names', async () => {
    const names = MIGRATIONS.map((m) => m.name);
    expect(new Set(names).size).to.equal(names.length);
    expect([...names].sort()).to.deep.equal(names);
    for (const name of names) expect(name).to.match(/^\d{14}_[a-z0-9_]+$/);
    expect(LATEST_MIGRATION).to.equal(names[names.length - 1]);
  });

  it('hands knex each migration module with up and down', async () => {
    const listed = await migrationSource.getMigrations([]);
    expect(listed.map((m) => migrationSource.getMigrationName(m))).to.deep.equal(MIGRATIONS.map((m) => m.name));
    for (const entry of listed) {
      const migration = await migrationSource.getMigration(entry);
      expect(migration.up).to.be.a('function');
      expect(migration.down).to.be.a('function');
    }
  });
});
