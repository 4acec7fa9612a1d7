/**
 * Expand/contract safety of migrations: which ones the *previous* server version keeps working on.
 *
 * An upgrade runs the new version's migrations while the old containers still serve, and when the
 * new containers then fail their health gate it rolls back the *code only* (old images), never the
 * data. That is safe only for **expand** (additive) steps: new tables, new nullable or defaulted
 * columns, new indexes, new functions. Everything else (drop, rename, type change, a new constraint
 * or unique index on an existing table, data rewrites) is a **contract** step: the old code may
 * break on it, so an upgrade that contains one needs a confirmed maintenance window (writes paused,
 * a restore as the rollback).
 *
 * Two checks, both conservative:
 * 1. declared: a migration marked `contract: '<why>'` in the index is a contract step;
 * 2. classified: each migration's SQL is generated without a database (a knex instance whose every
 *    query is recorded and answered with no rows) and every statement is matched against the
 *    additive patterns below. A statement that matches none is contract, and so is a migration
 *    whose SQL cannot be generated that way (it reads the database to decide what to do).
 * A migration is expand only when it is not declared contract and every statement is additive.
 *
 * Pure apart from knex's SQL generation (no connection is ever opened).
 */
import knex, { type Knex } from 'knex';
import type { NamedMigration } from './index.js';

/** expand: the previous version keeps working on the new schema; contract: it may not. */
export type MigrationPhase = 'expand' | 'contract';

/** The classification of one migration. */
export interface MigrationSafety {
  name: string;
  phase: MigrationPhase;
  /** The reason given in the index (`contract: '…'`), or null. */
  declared: string | null;
  /** Every statement that is not additive, with why (empty for an expand step). */
  findings: string[];
  /** Statements generated (for reports and tests). */
  statements: number;
}

/** Objects earlier migrations created: statements about them touch what the old version uses. */
export interface SchemaCatalog {
  tables: Set<string>;
  functions: Set<string>;
}

/** One statement's verdict. */
export interface StatementVerdict {
  additive: boolean;
  /** Why it is (not) additive, for the operator. */
  why: string;
}

const IDENT = String.raw`(?:"[^"]+"|[a-z_][a-z0-9_$]*)(?:\.(?:"[^"]+"|[a-z_][a-z0-9_$]*))?`;

/** An identifier without quotes and schema `public.`, lower case. Pure. */
function bare(ident: string): string {
  return ident
    .replace(/"/g, '')
    .replace(/^public\./, '')
    .toLowerCase();
}

/** Strip comments, collapse white space, lower-case everything outside string literals. Pure. */
export function normalizeSql(sql: string): string {
  const noComments = sql.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ');
  return noComments
    .split(/('(?:[^']|'')*')/)
    .map((part, i) => (i % 2 === 1 ? part : part.toLowerCase()))
    .join('')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/;$/, '')
    .trim();
}

/** Split `a, b (c, d), e` at top-level commas (outside parentheses and quotes). Pure. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** One `ALTER TABLE` action on a table the old version uses. Pure. */
function alterAction(action: string): StatementVerdict {
  const add = new RegExp(`^add (?:column )?(?:if not exists )?(${IDENT}) (.*)$`).exec(action);
  if (add && !/^(constraint|primary|unique|foreign|check|exclude)\b/.test(action.slice(4))) {
    const def = add[2]!;
    if (/\bgenerated\b/.test(def)) return { additive: true, why: `adds generated column ${bare(add[1]!)}` };
    if (/\bnot null\b/.test(def) && !/\bdefault\b/.test(def))
      return { additive: false, why: `adds NOT NULL column ${bare(add[1]!)} without a default: the old version's inserts fail` };
    if (/\b(primary key|unique|references|check)\b/.test(def))
      return { additive: false, why: `adds column ${bare(add[1]!)} with a constraint the old version's writes may violate` };
    return { additive: true, why: `adds column ${bare(add[1]!)}` };
  }
  if (/^add\b/.test(action)) return { additive: false, why: `adds a constraint to a table the old version writes (${action.slice(0, 80)})` };
  if (/^(drop|rename|alter)\b/.test(action)) return { additive: false, why: `${action.split(' ').slice(0, 3).join(' ')}: changes what the old version uses` };
  return { additive: false, why: `unrecognised ALTER TABLE action (${action.slice(0, 80)})` };
}

/**
 * Whether one SQL statement is additive, given the objects earlier migrations created and the
 * tables created earlier in the same migration (`fresh`, which no old code uses).
 * Side effect: records tables and functions the statement creates into `fresh` / `created`.
 * Pure otherwise.
 */
export function classifyStatement(sql: string, catalog: SchemaCatalog, fresh: Set<string>, created: Set<string>): StatementVerdict {
  const s = normalizeSql(sql);
  let m: RegExpExecArray | null;
  if (s === '' || /^(begin|commit|set local)\b/.test(s)) return { additive: true, why: 'transaction control' };
  if ((m = new RegExp(`^create (?:unlogged )?table (?:if not exists )?(${IDENT})`).exec(s))) {
    const t = bare(m[1]!);
    if (catalog.tables.has(t)) return { additive: false, why: `creates table ${t}, which exists already` };
    fresh.add(t);
    return { additive: true, why: `creates table ${t}` };
  }
  if ((m = new RegExp(`^create (unique )?index (?:concurrently )?(?:if not exists )?(?:${IDENT} )?on (?:only )?(${IDENT})`).exec(s))) {
    const t = bare(m[2]!);
    if (fresh.has(t)) return { additive: true, why: `indexes new table ${t}` };
    if (m[1]) return { additive: false, why: `unique index on ${t}: it can refuse the old version's writes` };
    return { additive: true, why: `adds an index on ${t}` };
  }
  if ((m = new RegExp(`^alter table (?:if exists )?(?:only )?(${IDENT}) (.*)$`).exec(s))) {
    const t = bare(m[1]!);
    if (fresh.has(t)) return { additive: true, why: `alters new table ${t}` };
    const verdicts = splitTopLevel(m[2]!).map(alterAction);
    const bad = verdicts.find((v) => !v.additive);
    return bad ? { additive: false, why: `${t}: ${bad.why}` } : { additive: true, why: `${t}: ${verdicts.map((v) => v.why).join(', ')}` };
  }
  if ((m = new RegExp(`^create (?:or replace )?function (${IDENT})`).exec(s))) {
    const f = bare(m[1]!);
    if (catalog.functions.has(f)) return { additive: false, why: `replaces function ${f}, which the old version may rely on` };
    created.add(f);
    return { additive: true, why: `creates function ${f}` };
  }
  if ((m = new RegExp(`^create (?:constraint )?trigger ${IDENT} .*? on (${IDENT})`).exec(s))) {
    const t = bare(m[1]!);
    return fresh.has(t)
      ? { additive: true, why: `trigger on new table ${t}` }
      : { additive: false, why: `trigger on ${t}: it can refuse or change the old version's writes` };
  }
  if (/^create extension\b/.test(s)) return { additive: true, why: 'creates an extension' };
  if (/^create (?:schema|sequence|type)\b/.test(s)) return { additive: true, why: s.split(' ').slice(0, 3).join(' ') };
  if ((m = new RegExp(`^create (?:materialized )?view (${IDENT})`).exec(s))) return { additive: true, why: `creates view ${bare(m[1]!)}` };
  if (/^comment on\b/.test(s)) return { additive: true, why: 'comment' };
  if ((m = new RegExp(`^insert into (${IDENT})`).exec(s))) return { additive: true, why: `inserts rows into ${bare(m[1]!)}` };
  if (/^select\b/.test(s) && !/\binto\b/.test(s)) return { additive: true, why: 'a query' };
  return { additive: false, why: `not an additive statement: ${s.slice(0, 100)}` };
}

/**
 * The SQL a migration's `up` sends, generated by a knex (pg dialect) that never connects: every
 * query is recorded and answered with no rows.
 * @throws whatever `up` throws when it depends on real results (the caller treats that as contract).
 */
export async function recordMigrationSql(migration: Knex.Migration): Promise<string[]> {
  const statements: string[] = [];
  const real = knex({ client: 'pg' });
  const empty = { rows: [], rowCount: 0 };
  const thenable = (sqls: () => string[], result: unknown) => ({
    // biome-ignore lint/suspicious/noThenProperty: a knex query builder is a thenable; this stands in for one.
    then(resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) {
      try {
        statements.push(...sqls());
        return Promise.resolve(result).then(resolve, reject);
      } catch (err) {
        return Promise.reject(err).then(resolve, reject);
      }
    },
  });
  const builderSql = (b: { toSQL: () => unknown }) => () => {
    const q = b.toSQL() as { sql: string } | { sql: string }[];
    return (Array.isArray(q) ? q : [q]).map((x) => x.sql);
  };
  const schema = new Proxy(
    {},
    {
      get:
        (_t, prop: string) =>
        (...args: unknown[]) => {
          const b = (real.schema as unknown as Record<string, (...a: unknown[]) => { toSQL: () => unknown }>)[prop]!(...args);
          return thenable(builderSql(b), /^has/.test(prop) ? false : empty);
        },
    },
  );
  const recorder = new Proxy(
    (table: string) => {
      const qb = real(table);
      return new Proxy(qb, {
        get: (t, prop) => (prop === 'then' ? thenable(() => [t.toString()], []).then : Reflect.get(t, prop)),
      });
    },
    {
      get: (_t, prop: string) => {
        if (prop === 'schema') return schema;
        if (prop === 'raw') return (sql: string, bindings?: readonly Knex.RawBinding[]) => thenable(() => [real.raw(sql, bindings ?? []).toQuery()], empty);
        return Reflect.get(real, prop);
      },
    },
  ) as unknown as Knex;
  try {
    await migration.up(recorder);
  } finally {
    await real.destroy();
  }
  return statements;
}

/**
 * Classify every migration, oldest first: what earlier migrations created is "existing" for the
 * later ones.
 * @returns one entry per migration, in order.
 */
export async function classifyMigrations(migrations: readonly NamedMigration[]): Promise<MigrationSafety[]> {
  const catalog: SchemaCatalog = { tables: new Set(), functions: new Set() };
  const out: MigrationSafety[] = [];
  for (const { name, migration, contract } of migrations) {
    const fresh = new Set<string>();
    const created = new Set<string>();
    const findings: string[] = [];
    let statements = 0;
    try {
      const sqls = await recordMigrationSql(migration);
      statements = sqls.length;
      for (const sql of sqls) {
        const v = classifyStatement(sql, catalog, fresh, created);
        if (!v.additive) findings.push(v.why);
      }
    } catch (err) {
      findings.push(`its SQL cannot be generated without a database (${(err as Error).message.split('\n')[0]}), so it cannot be shown to be additive`);
    }
    for (const t of fresh) catalog.tables.add(t);
    for (const f of created) catalog.functions.add(f);
    out.push({ name, phase: contract || findings.length > 0 ? 'contract' : 'expand', declared: contract ?? null, findings, statements });
  }
  return out;
}
