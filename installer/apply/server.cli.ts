/** Moved to installer/runtime/server.cli.ts; this re-export keeps console/ops/loadtest.ops.ts (another change in flight) unchanged. */
export * from '../runtime/server.cli.js';
