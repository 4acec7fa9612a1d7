// Loaded by mocha (--require) before any test file: ink-testing-library must see Ink draw every
// frame as on a terminal. Ink switches to "CI mode" (draws only on exit) when CI or
// CONTINUOUS_INTEGRATION is set, which CI runners do; the product handles this with
// installer/ui/load.ui.ts, but test files import Ink statically, before any such guard could run.
for (const key of ['CI', 'CONTINUOUS_INTEGRATION']) if (key in process.env) process.env[key] = 'false';
