/**
 * The syntax systemd accepts in unit files and drop-ins: [Section] headers, Key=Value lines inside a
 * section, comments, blank lines and backslash continuations. A config's unit is checked before
 * anything is written, so a typo fails provisioning instead of a service at some later boot.
 */
export interface UnitFile {
  sections: Map<string, Array<{ key: string; value: string }>>;
}

export class UnitSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

export function parseUnitFile(text: string): UnitFile {
  const sections = new Map<string, Array<{ key: string; value: string }>>();
  let current: Array<{ key: string; value: string }> | undefined;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const number = index + 1;
    let line = lines[index]!.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    while (line.endsWith('\\') && index + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++index]!.trim()}`;
    const header = /^\[([^\[\]]+)\]$/.exec(line);
    if (header) {
      current = sections.get(header[1]!) ?? [];
      sections.set(header[1]!, current);
      continue;
    }
    if (line.startsWith('[')) throw new UnitSyntaxError(number, `"${line}" is not a valid [Section] header`);
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UnitSyntaxError(number, `"${line.slice(0, 60)}" is not a Key=Value line, a [Section] header or a comment`);
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new UnitSyntaxError(number, `"${key}" is not a valid key`);
    if (!current) throw new UnitSyntaxError(number, `${key}= comes before any [Section] header`);
    current.push({ key, value: line.slice(eq + 1).trim() });
  }
  return { sections };
}

export interface InstallTarget {
  target: string;
  kind: 'wants' | 'requires';
}

/** The targets and units a unit's [Install] section hooks it into (WantedBy, RequiredBy). */
export function installTargets(unit: UnitFile): InstallTarget[] {
  const out: InstallTarget[] = [];
  for (const { key, value } of unit.sections.get('Install') ?? []) {
    const kind = key === 'WantedBy' ? 'wants' : key === 'RequiredBy' ? 'requires' : undefined;
    if (kind) for (const target of value.split(/\s+/).filter(Boolean)) out.push({ target, kind });
  }
  return out;
}
