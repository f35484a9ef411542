/**
 * update-alternatives, declaratively: the `--install` lines of the packages' postinst scripts are
 * read (not run); for each name the highest priority wins, as in automatic mode.
 */
import type { Tree } from '../tree.ts';

export interface Alternative {
  name: string;
  link: string;
  path: string;
  priority: number;
  slaves: Array<{ link: string; name: string; path: string }>;
}

/** Joins backslash-continued lines, then finds every literal `update-alternatives --install`. */
export function parseAlternatives(script: string): Alternative[] {
  const joined = script.replace(/\\\n\s*/g, ' ');
  const found: Alternative[] = [];
  for (const line of joined.split('\n')) {
    const at = line.indexOf('update-alternatives');
    if (at < 0 || !line.includes('--install')) continue;
    const words = line.slice(at).split(/\s+/).filter(Boolean);
    const install = words.indexOf('--install');
    const [link, name, path, priority] = words.slice(install + 1, install + 5);
    if (!link || !name || !path || !priority || [link, name, path, priority].some((w) => w.includes('$'))) continue;
    if (!/^\d+$/.test(priority)) continue;
    const alternative: Alternative = { name, link, path, priority: Number(priority), slaves: [] };
    for (let i = install + 5; i < words.length; i++) {
      if (words[i] !== '--slave') continue;
      const [slaveLink, slaveName, slavePath] = words.slice(i + 1, i + 4);
      if (slaveLink && slaveName && slavePath && ![slaveLink, slaveName, slavePath].some((w) => w.includes('$'))) {
        alternative.slaves.push({ link: slaveLink, name: slaveName, path: slavePath });
      }
    }
    found.push(alternative);
  }
  return found;
}

function linkVia(tree: Tree, link: string, name: string, path: string): void {
  tree.symlink(`etc/alternatives/${name}`, path);
  if (!tree.has(link) || tree.get(link)?.type === 'symlink') tree.symlink(link, `/etc/alternatives/${name}`);
}

export function applyAlternatives(tree: Tree, alternatives: readonly Alternative[]): Alternative[] {
  const best = new Map<string, Alternative>();
  for (const alternative of alternatives) {
    if (!tree.has(alternative.path)) continue;
    const current = best.get(alternative.name);
    if (!current || alternative.priority > current.priority) best.set(alternative.name, alternative);
  }
  const chosen = [...best.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const alternative of chosen) {
    linkVia(tree, alternative.link, alternative.name, alternative.path);
    for (const slave of alternative.slaves) {
      if (tree.has(slave.path)) linkVia(tree, slave.link, slave.name, slave.path);
    }
  }
  return chosen;
}
