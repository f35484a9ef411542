/** Where a raw disk's partitions are, read by sfdisk as a test would from the build host. */
import { execa } from 'execa';

/** Where partition `number` of a raw disk starts, in bytes. */
export async function partitionStart(disk: string, number: number): Promise<number> {
  const { stdout } = await execa('sfdisk', ['--json', disk]);
  const table = JSON.parse(stdout) as { partitiontable: { partitions: Array<{ node: string; start: number }> } };
  const partition = table.partitiontable.partitions.find((p) => p.node.endsWith(String(number)));
  if (!partition) throw new Error(`${disk} has no partition ${number}`);
  return partition.start * 512;
}
