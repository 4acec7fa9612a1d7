/**
 * Container healthcheck CLI (slim images have no curl):
 *   node dist/server/src/healthcheck.js ready    # web: GET http://127.0.0.1:$PORT/ready answers 200
 *   node dist/server/src/healthcheck.js worker   # worker: heartbeat file younger than 30 s
 * Exits 0 when healthy, 1 otherwise (with the reason on stderr), 2 on a usage error.
 */
import { loadConfigOrExit } from './config/load-or-exit.js';
import { HEARTBEAT_MAX_AGE_MS, heartbeatAgeMs } from './jobs/worker-heartbeat.js';

const mode = process.argv[2];
if (mode !== 'ready' && mode !== 'worker') {
  process.stderr.write('usage: healthcheck.js ready|worker\n');
  process.exit(2);
}
const config = loadConfigOrExit('carebox-healthcheck');

const fail = (reason: string): never => {
  process.stderr.write(`unhealthy: ${reason}\n`);
  process.exit(1);
};

if (mode === 'ready') {
  try {
    const res = await fetch(`http://127.0.0.1:${config.PORT}/ready`, { signal: AbortSignal.timeout(3_000) });
    if (res.status !== 200) fail(`/ready answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  } catch (err) {
    fail(`/ready unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
} else {
  try {
    const ageMs = await heartbeatAgeMs(config.WORKER_HEARTBEAT_FILE);
    if (ageMs > HEARTBEAT_MAX_AGE_MS) fail(`worker heartbeat is ${Math.round(ageMs / 1000)} s old`);
  } catch (err) {
    fail(`no worker heartbeat at ${config.WORKER_HEARTBEAT_FILE}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
process.exit(0);
