/** Finding the Debian mirror to use: --mirror, SLIPWAY_MIRROR, the recipe, then the host's apt sources. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RecipeError } from '../../errors.ts';
import { parseDeb822 } from './deb822.ts';

interface AptSource {
  uris: string[];
  suites: string[];
  components: string[];
}

function oneLineSources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    // deb [options] uri suite component...
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (match) sources.push({ uris: [match[1]!], suites: [match[2]!], components: match[3]!.split(/\s+/) });
  }
  return sources;
}

/** apt reads Enabled as a boolean: no, false, off and 0 all disable a source. */
function isNo(value: string | undefined): boolean {
  return value !== undefined && ['no', 'false', 'off', 'without', '0'].includes(value.toLowerCase());
}

function deb822Sources(text: string): AptSource[] {
  const withoutComments = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  return parseDeb822(withoutComments)
    .filter((p) => (p.get('Types') ?? '').split(/\s+/).includes('deb') && !isNo(p.get('Enabled')))
    .map((p) => ({
      uris: (p.get('URIs') ?? '').split(/\s+/).filter(Boolean),
      suites: (p.get('Suites') ?? '').split(/\s+/).filter(Boolean),
      components: (p.get('Components') ?? '').split(/\s+/).filter(Boolean),
    }));
}

export function readAptSources(etcApt = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const main = join(etcApt, 'sources.list');
  if (existsSync(main)) sources.push(...oneLineSources(readFileSync(main, 'utf8')));
  const dir = join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const text = readFileSync(join(dir, name), 'utf8');
      if (name.endsWith('.list')) sources.push(...oneLineSources(text));
      else if (name.endsWith('.sources')) sources.push(...deb822Sources(text));
    }
  }
  return sources;
}

/** The first apt source that carries this suite's main component. */
export function mirrorFromAptSources(suite: string, etcApt = '/etc/apt'): string | undefined {
  const source = readAptSources(etcApt).find((s) => s.suites.includes(suite) && s.components.includes('main'));
  return source?.uris[0];
}

export interface MirrorChoice {
  flag?: string;
  recipe?: string;
  suite: string;
  snapshot?: string;
}

/** The archive root URL, without a trailing slash. */
export function chooseMirror(choice: MirrorChoice): string {
  const base = choice.flag || process.env.SLIPWAY_MIRROR || choice.recipe || mirrorFromAptSources(choice.suite);
  if (!base) {
    throw new RecipeError(
      `no Debian mirror for suite "${choice.suite}": the recipe names none and /etc/apt has no source for it`,
      'set distribution.mirror in the recipe, or SLIPWAY_MIRROR, or pass --mirror URL',
    );
  }
  const root = base.replace(/\/+$/, '');
  return choice.snapshot ? `${root}/${choice.snapshot}` : root;
}
