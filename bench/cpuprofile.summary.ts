/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`, e.g. from `npm run bench -- --profile`): where
 * the samples fell, by function (self time) and by package or source file (self time), and the
 * inclusive time of the functions named on the command line. A flame graph read as a table.
 *
 * Usage: node --import=tsx bench/cpuprofile.summary.ts FILE.cpuprofile [FILE…] [--top N] [--inclusive NAME,NAME]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Package (`node_modules/<pkg>`), `node:internal`, or the project file of a URL. */
export function moduleOf(url: string): string {
  if (url === '') return '(native / VM)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const dist = /\/dist\/(.*)$/.exec(url);
  return dist ? dist[1]! : url.replace(/^file:\/\//, '');
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, inclusive: { type: 'string' } } });
const top = Number(values.top);
const selfByFn = new Map<string, number>();
const selfByModule = new Map<string, number>();
const inclusiveNames = (values.inclusive ?? '').split(',').filter(Boolean);
const inclusive = new Map<string, number>(inclusiveNames.map((n) => [n, 0]));
let total = 0;

for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  for (const [id, count] of hits) {
    const n = byId.get(id)!;
    total += count;
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${moduleOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + count);
    const mod =
      n.callFrame.functionName === '(garbage collector)' || n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)'
        ? n.callFrame.functionName
        : moduleOf(n.callFrame.url);
    selfByModule.set(mod, (selfByModule.get(mod) ?? 0) + count);
    if (inclusiveNames.length > 0) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const name = byId.get(cur)!.callFrame.functionName;
        if (inclusive.has(name) && !seen.has(name)) {
          seen.add(name);
          inclusive.set(name, inclusive.get(name)! + count);
        }
      }
    }
  }
}

const share = (n: number) => `${((n / Math.max(1, total)) * 100).toFixed(1).padStart(5)} %`;
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${share(v)}  ${k}\n`);
};
process.stdout.write(`${total} samples in ${positionals.length} profile(s)\n`);
print('self time by package / file', selfByModule);
print('self time by function', selfByFn);
if (inclusiveNames.length > 0) print('inclusive time', inclusive);
