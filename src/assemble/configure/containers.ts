/** The recipe's containers installed into the root: one unit each, and the list the health check reads. */
import { containerUnit } from '../../recipe/container-units.ts';
import type { Container } from '../../recipe/schema.ts';
import type { Tree } from '../tree.ts';

export function installContainerUnits(tree: Tree, containers: readonly Container[], tags: ReadonlyMap<string, string>): void {
  for (const container of containers) {
    tree.writeFile(`usr/lib/systemd/system/slipway-container-${container.name}.service`, containerUnit(container, tags.get(container.name)));
  }
  tree.writeFile('usr/lib/slipway/containers', containers.map((c) => `${c.name}\n`).join(''));
}
