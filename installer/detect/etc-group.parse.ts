/**
 * Pure parser for `/etc/group` (group(5)): `name:password:GID:member,member`.
 */

/**
 * Finds a group by name.
 *
 * @returns its numeric GID and member list, or null when the group is absent or its line is
 *   malformed. Never throws.
 */
export function findGroup(etcGroupText: string, name: string): { gid: number; members: string[] } | null {
  for (const line of etcGroupText.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 3 || f[0] !== name || !/^\d+$/.test(f[2] ?? '')) continue;
    return { gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') };
  }
  return null;
}
