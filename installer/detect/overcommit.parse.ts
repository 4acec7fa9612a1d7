/**
 * `vm.overcommit_memory` (/proc/sys/vm/overcommit_memory): 0 heuristic (the kernel default), 1
 * always, 2 strict. Redis forks for its AOF rewrite and background saves; under 2 (or 0 on a host
 * short of memory) the fork fails, Redis stops accepting writes (MISCONF) and the API answers 503
 * STORE_REFUSES_WRITES. Redis's own start-up warning asks for 1. Pure.
 */
export type OvercommitMode = 0 | 1 | 2;

/** Parse the file's content; null when it is not 0, 1 or 2. */
export function parseOvercommit(text: string): OvercommitMode | null {
  const t = text.trim();
  return t === '0' ? 0 : t === '1' ? 1 : t === '2' ? 2 : null;
}
