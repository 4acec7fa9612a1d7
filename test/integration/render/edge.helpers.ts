/**
 * The rendered nginx.conf run in the nginx image the stack runs, as the edge integration tests
 * need it: a container on a Docker network of the test's own (so `backend` resolves through
 * Docker's DNS, as in the stack), with the render's nginx/ directory mounted read-only.
 */
import { join } from 'node:path';
import { exec } from '../../../installer/apply/exec.js';

/**
 * Starts nginx named `name` on `network` from `image`, with `root`/nginx as its configuration and
 * each `[hostPort, containerPort]` published on 127.0.0.1.
 * @throws ExternalCommandError when `docker run` fails.
 */
export async function runEdge(o: { name: string; network: string; image: string; root: string; ports: Array<[number, number]> }): Promise<void> {
  await exec([
    'docker',
    'run',
    '-d',
    '--name',
    o.name,
    '--network',
    o.network,
    ...o.ports.flatMap(([host, container]) => ['-p', `127.0.0.1:${host}:${container}`]),
    '-v',
    `${join(o.root, 'nginx')}:/etc/nginx/carebox:ro`,
    o.image,
    'nginx',
    '-c',
    '/etc/nginx/carebox/nginx.conf',
    '-g',
    'daemon off;',
  ]);
}
