/**
 * Enabling systemd units without systemctl: preset files decide (first match wins, unmatched units
 * are enabled as Debian's packages would), the recipe overrides them, and enabling means the
 * [Install] section's symlinks under /etc/systemd/system.
 */
import { BuildError } from '../../errors.ts';
import { isUnitFileName } from '../../shared/paths.ts';
import type { Tree } from '../tree.ts';

const UNIT_DIRS = ['etc/systemd/system', 'usr/lib/systemd/system'];
const PRESET_DIRS = ['etc/systemd/system-preset', 'usr/lib/systemd/system-preset'];

interface InstallSection {
  wantedBy: string[];
  requiredBy: string[];
  alias: string[];
  also: string[];
  defaultInstance?: string;
}

export function parseInstall(text: string): InstallSection | undefined {
  const section: InstallSection = { wantedBy: [], requiredBy: [], alias: [], also: [] };
  let inInstall = false;
  let any = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inInstall = line === '[Install]';
      continue;
    }
    if (!inInstall || !line || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const values = line.slice(eq + 1).trim().split(/\s+/).filter(Boolean);
    any = true;
    if (key === 'WantedBy') section.wantedBy.push(...values);
    else if (key === 'RequiredBy') section.requiredBy.push(...values);
    else if (key === 'Alias') section.alias.push(...values);
    else if (key === 'Also') section.also.push(...values);
    else if (key === 'DefaultInstance') section.defaultInstance = values[0];
  }
  return any ? section : undefined;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

export interface PresetRule {
  action: 'enable' | 'disable';
  pattern: RegExp;
  instances: string[];
}

export function parsePresets(text: string): PresetRule[] {
  const rules: PresetRule[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const [action, pattern, ...instances] = line.split(/\s+/);
    if ((action === 'enable' || action === 'disable') && pattern) rules.push({ action, pattern: globToRegExp(pattern), instances });
  }
  return rules;
}

/** Preset files from all folders, ordered by file name; a name in /etc hides the same name in /usr. */
export function readPresets(tree: Tree): PresetRule[] {
  const byName = new Map<string, string>();
  for (const dir of [...PRESET_DIRS].reverse()) {
    for (const file of tree.list(dir)) if (file.endsWith('.preset')) byName.set(file.slice(dir.length + 1), file);
  }
  return [...byName.keys()].sort().flatMap((name) => parsePresets(tree.readText(byName.get(name)!)));
}

function unitFile(tree: Tree, unit: string): string | undefined {
  // The instance is everything between @ and the last dot (dhcp@eth0.101.service → dhcp@.service).
  const template = unit.replace(/@[^@]*(\.[^.]+)$/, '@$1');
  for (const dir of UNIT_DIRS) {
    for (const name of [unit, template]) {
      const path = `${dir}/${name}`;
      const entry = tree.get(path);
      if (entry && entry.type !== 'directory') return path;
    }
  }
  return undefined;
}

/** Refuses an [Install] section that names something other than units: enabling links a file at each name. */
export function checkInstallTargets(unit: string, install: InstallSection, why: string): void {
  for (const [key, names] of Object.entries({ WantedBy: install.wantedBy, RequiredBy: install.requiredBy, Alias: install.alias, Also: install.also })) {
    const bad = names.find((name) => !isUnitFileName(name));
    if (bad !== undefined) throw new BuildError(`${why}: unit ${unit} says ${key}=${bad}, which is not a unit name`, 'name units such as multi-user.target in its [Install] section');
  }
}

export class UnitEnabler {
  readonly enabled: string[] = [];

  constructor(private readonly tree: Tree) {}

  enable(unit: string, why: string): void {
    if (this.enabled.includes(unit)) return;
    const file = unitFile(this.tree, unit);
    if (!file) throw new BuildError(`${why}: unit ${unit} is not in the image`, 'check the unit name, or add the package that ships it');
    const install = parseInstall(this.tree.readText(file));
    if (!install) return; // static unit: nothing to enable
    let instance = unit;
    if (/@\./.test(unit)) {
      if (!install.defaultInstance) return;
      instance = unit.replace('@.', `@${install.defaultInstance}.`);
    }
    checkInstallTargets(unit, install, why);
    this.enabled.push(unit);
    const target = `/${file}`;
    for (const wanted of install.wantedBy) this.tree.symlink(`etc/systemd/system/${wanted}.wants/${instance}`, target);
    for (const required of install.requiredBy) this.tree.symlink(`etc/systemd/system/${required}.requires/${instance}`, target);
    for (const alias of install.alias) this.tree.symlink(`etc/systemd/system/${alias}`, target);
    for (const also of install.also) this.enable(also, `${unit} (Also=)`);
  }

  mask(unit: string): void {
    this.tree.symlink(`etc/systemd/system/${unit}`, '/dev/null');
  }
}

/** Every unit file name shipped in the image that has an [Install] section. */
function installableUnits(tree: Tree): string[] {
  const names = new Set<string>();
  for (const dir of UNIT_DIRS) {
    for (const path of tree.list(dir)) {
      const entry = tree.get(path);
      if (entry?.type !== 'file') continue;
      const name = path.slice(dir.length + 1);
      if (/\.(service|socket|timer|path|target|mount|automount|swap)$/.test(name)) names.add(name);
    }
  }
  return [...names].sort();
}

export interface UnitChoices {
  enable: readonly string[];
  disable: readonly string[];
  mask: readonly string[];
}

export function configureUnits(tree: Tree, recipe: UnitChoices): string[] {
  const presets = readPresets(tree);
  const enabler = new UnitEnabler(tree);
  for (const unit of installableUnits(tree)) {
    if (recipe.disable.includes(unit) || recipe.mask.includes(unit)) continue;
    const rule = presets.find((r) => r.pattern.test(unit));
    if (recipe.enable.includes(unit) || !rule || rule.action === 'enable') {
      if (rule?.instances.length && unit.includes('@.')) {
        for (const instance of rule.instances) enabler.enable(unit.replace('@.', `@${instance}.`), 'preset');
      } else {
        enabler.enable(unit, 'preset');
      }
    }
  }
  for (const unit of recipe.enable) enabler.enable(unit, 'services.enable');
  for (const unit of recipe.mask) enabler.mask(unit);
  tree.symlink('etc/systemd/system/default.target', '/usr/lib/systemd/system/multi-user.target');
  return enabler.enabled;
}
