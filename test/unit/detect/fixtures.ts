import { fileURLToPath } from 'node:url';

/** Absolute path of a fixture tree under test/fixtures/cgroup/ (used as detect's fsRoot). */
export function cgroupFixture(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/cgroup/${name}/`, import.meta.url));
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
