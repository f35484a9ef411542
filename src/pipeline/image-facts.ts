/** What an image offers host configs, read from its finished tree: recorded in the image and its manifest. */
import { posix } from 'node:path';
import type { Tree } from '../assemble/tree.ts';
import { parseGroup, parsePasswd, type ManifestFacts } from '../hostconfig/facts.ts';
import { installTargets, parseUnitFile, type InstallTarget } from '../shared/unitfile.ts';

/** The facts `slipway config validate --image` and the build check host configs against. */
export function imageFactsOf(tree: Tree, containers: string[]): ManifestFacts {
  const users = [...parsePasswd(tree.has('etc/passwd') ? tree.readText('etc/passwd') : '')].map(([name, u]) => ({ name, ...u }));
  const groups = [...parseGroup(tree.has('etc/group') ? tree.readText('etc/group') : '')].map(([name, gid]) => ({ name, gid }));
  const units = ['usr/lib/systemd/system', 'etc/systemd/system'].flatMap((dir) => tree.list(dir).map((path) => path.slice(dir.length + 1)));
  const zoneinfo = 'usr/share/zoneinfo';
  const timezones = tree.has(zoneinfo)
    ? tree.walk(zoneinfo).filter((path) => tree.get(path)?.type !== 'directory').map((path) => path.slice(zoneinfo.length + 1)).filter((name) => !/^(posix|right)\/|\.(tab|zi)$|^leap/.test(name))
    : [];
  const unitNames = [...new Set(units)].sort();
  const install: Record<string, InstallTarget[]> = {};
  for (const name of unitNames) {
    const text = imageUnitText(tree, name);
    let hooks: InstallTarget[] = [];
    try {
      hooks = text === undefined ? [] : installTargets(parseUnitFile(text));
    } catch {
      // A unit systemd itself would complain about: enabling it from a host config hooks it nowhere.
    }
    if (hooks.length > 0) install[name] = hooks;
  }
  return { users, groups, units: unitNames, containers, timezones: timezones.sort(), install };
}

/** A unit's text as the image has it: /etc before /usr/lib, symlinks followed inside the tree; none when masked. */
function imageUnitText(tree: Tree, name: string): string | undefined {
  for (const dir of ['etc/systemd/system', 'usr/lib/systemd/system']) {
    let path = `${dir}/${name}`;
    for (let hops = 0; hops < 8 && tree.has(path); hops++) {
      const entry = tree.get(path)!;
      if (entry.type === 'file') return tree.readText(path);
      if (entry.type !== 'symlink' || entry.target === '/dev/null') return undefined;
      path = entry.target!.startsWith('/') ? entry.target!.slice(1) : posix.join(posix.dirname(path), entry.target!);
    }
  }
  return undefined;
}
