/**
 * The one way slipway runs external programs: no shell, LC_ALL=C, a preflight check that names the
 * Debian package of every missing program, and failures that carry the command, exit status and
 * the last lines the program printed.
 */
import { accessSync, constants } from 'node:fs';
import { setPriority } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { ToolFailed, ToolMissing } from './errors.ts';
import { launch, type FileRange } from './launcher/launch.ts';

/** Every external program slipway may call, with the Debian package that provides it. */
export const TOOLS = {
  'gpgv': 'gpgv',
  'xz': 'xz-utils',
  'zstd': 'zstd',
  'apt-get': 'apt',
  'mkfs.erofs': 'erofs-utils',
  'fsck.erofs': 'erofs-utils',
  'mksquashfs': 'squashfs-tools',
  'unsquashfs': 'squashfs-tools',
  'veritysetup': 'cryptsetup-bin',
  'mkfs.vfat': 'dosfstools',
  'fsck.vfat': 'dosfstools',
  'mcopy': 'mtools',
  'xorriso': 'xorriso',
  'mmd': 'mtools',
  'mdir': 'mtools',
  'sfdisk': 'fdisk',
  'mkfs.ext4': 'e2fsprogs',
  'e2fsck': 'e2fsprogs',
  'objcopy': 'binutils',
  'depmod': 'kmod',
  'systemd-dissect': 'systemd-container',
  'bootctl': 'systemd-boot',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  'tar': 'tar',
  'gzip': 'gzip',
  'skopeo': 'skopeo',
  'docker-registry': 'docker-registry',
  'ssh': 'openssh-client',
  'ssh-keygen': 'openssh-client',
  'ssh-keyscan': 'openssh-client',
  'busybox': 'busybox-static',
  'openssl': 'openssl',
  'cert-to-efi-sig-list': 'efitools',
  'sign-efi-sig-list': 'efitools',
  'sbsign': 'sbsigntool',
  'sbverify': 'sbsigntool',
  'faketime': 'faketime',
  'swtpm': 'swtpm',
  'systemd-measure': 'systemd',
} as const satisfies Record<string, string>;

export type ToolName = keyof typeof TOOLS;

/** Files (not programs) that some steps read, with the Debian package that ships them. */
export const DATA_FILES = {
  '/usr/share/keyrings/debian-archive-keyring.gpg': 'debian-archive-keyring',
  '/usr/share/OVMF/OVMF_CODE_4M.fd': 'ovmf',
  '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd': 'ovmf',
  // systemd-measure dlopens the TPM libraries itself (esys, rc and mu: without any one of them it
  // exits 1 and prints nothing), and reaches a software TPM through its TCTI.
  '/usr/lib/x86_64-linux-gnu/libtss2-esys.so.0': 'libtss2-esys-3.0.2-0',
  '/usr/lib/x86_64-linux-gnu/libtss2-rc.so.0': 'libtss2-rc0',
  '/usr/lib/x86_64-linux-gnu/libtss2-mu.so.0': 'libtss2-mu0',
  '/usr/lib/x86_64-linux-gnu/libtss2-tcti-swtpm.so.0': 'libtss2-tcti-swtpm0',
  // The SBOM test runs SPDX's own validator (test/helpers/spdx.ts) on Debian's python and these modules.
  '/usr/bin/python3': 'python3',
  '/usr/lib/python3/dist-packages/click/__init__.py': 'python3-click',
  '/usr/lib/python3/dist-packages/license_expression/__init__.py': 'python3-license-expression',
  '/usr/lib/python3/dist-packages/ply/__init__.py': 'python3-ply',
  '/usr/lib/python3/dist-packages/rdflib/__init__.py': 'python3-rdflib',
  '/usr/lib/python3/dist-packages/semantic_version/__init__.py': 'python3-semantic-version',
  '/usr/lib/python3/dist-packages/uritools/__init__.py': 'python3-uritools',
  '/usr/lib/python3/dist-packages/xmltodict.py': 'python3-xmltodict',
  '/usr/lib/python3/dist-packages/yaml/__init__.py': 'python3-yaml',
} as const satisfies Record<string, string>;

// Ordinary users often lack the sbin folders in PATH, where mkfs.* and friends live; systemd keeps
// systemd-measure in its own folder.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/lib/systemd'];

export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

function fileExists(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Debian packages that provide what is missing among these tools and files. */
export function missingPackages(tools: readonly ToolName[], files: readonly (keyof typeof DATA_FILES)[] = []): string[] {
  const packages = new Set<string>();
  for (const tool of tools) if (!findTool(tool)) packages.add(TOOLS[tool]);
  for (const file of files) if (!fileExists(file)) packages.add(DATA_FILES[file]);
  return [...packages].sort();
}

/** Fails at once, before any work, when a tool or data file the work needs is missing. */
export function checkTools(tools: readonly ToolName[], files: readonly (keyof typeof DATA_FILES)[] = []): void {
  const missingTools = tools.filter((tool) => !findTool(tool));
  const missingFiles = files.filter((file) => !fileExists(file));
  if (missingTools.length === 0 && missingFiles.length === 0) return;
  const packages = missingPackages(tools, files);
  const what = [...missingTools, ...missingFiles].join(', ');
  throw new ToolMissing(
    `missing ${what} (Debian package${packages.length > 1 ? 's' : ''} ${packages.join(', ')})`,
    `run 'scripts/setup' as root, or: apt-get install -y ${packages.join(' ')}`,
  );
}

export interface RunOptions {
  cwd?: string;
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Where stdout goes; by default it is captured and returned. */
  stdout?: 'pipe' | 'ignore' | { file: string };
  timeoutMs?: number;
  /** At nice 19: the program gets only CPU time nothing else wants (work in the background). */
  lowPriority?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

const TAIL_LINES = 8;

function tail(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-TAIL_LINES).join('\n');
}

/** What ran, how it ended, and the end of what it printed. */
function toolFailure(tool: ToolName, args: readonly string[], status: string, output: string, cause?: unknown): ToolFailed {
  const printed = tail(output.trim());
  return new ToolFailed(
    `${tool} failed (${status}): ${[tool, ...args].join(' ')}${printed ? `\n${indent(printed)}` : ''}`,
    `the lines above are the end of what ${tool} printed`,
    cause === undefined ? undefined : { cause },
  );
}

/** Runs one external program; a failure becomes a ToolFailed that says what ran and what it printed. */
export async function runTool(tool: ToolName, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const path = findTool(tool);
  if (!path) checkTools([tool]);
  const subprocess = execa(path!, args, {
    cwd: options.cwd,
    input: options.input,
    env: { ...options.env, LC_ALL: 'C', LANG: 'C' },
    stdout: options.stdout ?? 'pipe',
    stderr: 'pipe',
    timeout: options.timeoutMs,
    reject: false,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  if (options.lowPriority && subprocess.pid !== undefined) {
    try {
      setPriority(subprocess.pid, 19);
    } catch {
      // It has already ended.
    }
  }
  const result = await subprocess;
  if (result.failed) {
    const status = result.timedOut
      ? `timed out after ${options.timeoutMs} ms`
      : result.exitCode !== undefined
        ? `exit status ${result.exitCode}`
        : `killed by ${result.signal ?? 'a signal'}`;
    throw toolFailure(tool, args, status, `${result.stderr ?? ''}\n${typeof result.stdout === 'string' ? result.stdout : ''}`, result);
  }
  return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** Runs a filter program on bytes of a file, through slipway's launcher process (src/launcher). */
async function launchFilter(tool: ToolName, args: readonly string[], input: FileRange, output: { file: string } | 'return'): Promise<Uint8Array | undefined> {
  const path = findTool(tool);
  if (!path) checkTools([tool]);
  const outcome = await launch({ program: path!, args, env: { LC_ALL: 'C', LANG: 'C' }, input, output });
  if (outcome.error !== undefined) throw toolFailure(tool, args, outcome.error, outcome.stderr);
  if (outcome.code !== 0) throw toolFailure(tool, args, outcome.code === null ? `killed by ${outcome.signal}` : `exit status ${outcome.code}`, outcome.stderr);
  return outcome.stdout;
}

/**
 * Runs a filter program (a decompressor) on bytes of a file with its output going straight into
 * another file, which the program writes itself: hundreds of megabytes of decompressed tar need not
 * pass through this process.
 */
export async function filterToFile(tool: ToolName, args: readonly string[], input: FileRange, output: string): Promise<void> {
  await launchFilter(tool, args, input, { file: output });
}

/** Runs a filter program on bytes of a file and returns what it wrote (meant for small outputs). */
export async function filterToBuffer(tool: ToolName, args: readonly string[], input: FileRange): Promise<Buffer> {
  const stdout = await launchFilter(tool, args, input, 'return');
  return Buffer.from(stdout!.buffer, stdout!.byteOffset, stdout!.byteLength);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  | ${line}`)
    .join('\n');
}
