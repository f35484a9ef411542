/**
 * The ESP, where each installed version has its UKI: EFI/Linux/NAME_VERSION+TRIES[-DONE].efi while
 * systemd-boot counts its boots, NAME_VERSION.efi once blessed. A new UKI is written beside its
 * place and renamed, so the loader sees the whole file or none.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { UpdateError, errorMessage } from '../../errors.ts';
import { syncFilesystem } from '../../shared/durable.ts';

export const ESP_MOUNT = '/run/slipway/esp';
const LINUX_DIR = 'EFI/Linux';

/** Where the ESP is mounted: systemd's automount at /boot (as systemd-bless-boot uses it), or our own. */
export function mountEsp(device: string): string {
  const mountedAt = () => readFileSyncSafe('/proc/mounts').split('\n').map((line) => line.split(' ')).find(([source]) => source === device)?.[1];
  existsSync('/boot/EFI'); // touching the automount point mounts the ESP there
  const existing = mountedAt();
  if (existing) return existing;
  mkdirSync(ESP_MOUNT, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'vfat', '-o', 'rw,nodev,nosuid,noexec', device, ESP_MOUNT], { stdio: 'pipe' });
  } catch (cause) {
    throw new UpdateError(`cannot mount the ESP ${device}: ${errorMessage(cause)}`, 'is the vfat module in the image?', { cause });
  }
  return ESP_MOUNT;
}

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface UkiEntry {
  file: string;
  label: string;
  /** Boots left before systemd-boot gives up on it; undefined once blessed. */
  triesLeft?: number;
}

export function ukiEntries(esp: string): UkiEntry[] {
  const dir = join(esp, LINUX_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((file) => /^(.+?)(?:\+(\d+)(?:-(\d+))?)?\.efi$/i.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: m[0], label: m[1]!, triesLeft: m[2] === undefined ? undefined : Number(m[2]) }));
}

/** Bytes the entries of one version take on the ESP. */
export function ukisSize(esp: string, label: string): number {
  return ukiEntries(esp)
    .filter((entry) => entry.label === label)
    .reduce((sum, entry) => sum + statSync(join(esp, LINUX_DIR, entry.file)).size, 0);
}

export function removeUkis(esp: string, label: string): void {
  for (const entry of ukiEntries(esp).filter((e) => e.label === label)) rmSync(join(esp, LINUX_DIR, entry.file));
  syncFilesystem(join(esp, LINUX_DIR));
}

/** A file to write the new UKI into, and the rename that makes it an entry (with 3 tries). */
export function stageUki(esp: string, label: string): { path: string; commit: () => void } {
  const dir = join(esp, LINUX_DIR);
  mkdirSync(dir, { recursive: true });
  // What an interrupted apply left half-written (systemd-boot ignores these names).
  for (const stale of readdirSync(dir).filter((file) => file.endsWith('.efi.new'))) rmSync(join(dir, stale));
  const path = join(dir, `${label}.efi.new`);
  return {
    path,
    commit: () => {
      renameSync(path, join(dir, `${label}+3.efi`));
      syncFilesystem(dir);
    },
  };
}

/** Takes an entry out of systemd-boot's choice: no tries left, so it sorts last and is never booted. */
export function markBad(esp: string, entry: UkiEntry): void {
  const dir = join(esp, LINUX_DIR);
  renameSync(join(dir, entry.file), join(dir, `${entry.label}+0-3.efi`));
  syncFilesystem(dir);
}
