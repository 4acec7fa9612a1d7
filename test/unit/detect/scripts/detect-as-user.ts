/**
 * Runs one detector and prints its result as JSON on stdout. Spawned by tests as an unprivileged
 * user (uid 65534), to meet real permission errors (EACCES on a socket, a privileged port) that
 * root never sees. Argument: a JSON request, `{"what":"docker","env":{...}}` or
 * `{"what":"ports","ports":[...]}`.
 */
import { detectDocker } from '../../../../installer/detect/docker.detect.js';
import { detectPorts } from '../../../../installer/detect/ports.detect.js';

const req = JSON.parse(process.argv[2] ?? '{}') as
  | { what: 'docker'; env: Record<string, string> }
  | { what: 'ports'; ports: { port: number; bindAddress: string }[] };
const result = req.what === 'docker' ? await detectDocker({ env: req.env, timeoutMs: 2000 }) : await detectPorts(req.ports);
process.stdout.write(JSON.stringify(result));
