/** Runs a command and samples the summed resident memory of it and all its descendants. */
import { readFileSync, readdirSync } from 'node:fs';
import { execa } from 'execa';

function children(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      byParent.set(ppid, [...(byParent.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone already
    }
  }
  return byParent;
}

function rssKiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function treeRss(root: number): number {
  const byParent = children();
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    total += rssKiB(pid);
    stack.push(...(byParent.get(pid) ?? []));
  }
  return total;
}

export async function measure(command: string, args: string[], env: Record<string, string> = {}): Promise<{ seconds: number; peakMiB: number; stdout: string }> {
  const start = performance.now();
  const child = execa(command, args, { env, reject: false, stdin: 'ignore' });
  let peak = 0;
  const timer = setInterval(() => {
    if (child.pid) peak = Math.max(peak, treeRss(child.pid));
  }, 100);
  const result = await child;
  clearInterval(timer);
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  return { seconds: (performance.now() - start) / 1000, peakMiB: peak / 1024, stdout: String(result.stdout) };
}
