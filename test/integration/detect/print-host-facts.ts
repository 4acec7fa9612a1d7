/**
 * Prints detectHost()'s HostFacts as JSON. container.test.ts runs it inside cgroup-limited
 * containers (repo bind-mounted read-only, `node --import tsx`), to see what detect sees there.
 */
import { detectHost } from '../../../installer/detect/host.detect.js';

const facts = await detectHost({ installRoot: '/opt/carebox', ports: [{ port: 8080, bindAddress: '0.0.0.0' }] });
process.stdout.write(`${JSON.stringify(facts)}\n`);
