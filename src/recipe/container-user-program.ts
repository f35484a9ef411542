/** The program runc-as-user runs before `runc create`: it sets the container's user (container-user.ts). */
import { errorMessage } from '../errors.ts';
import { bundleOf, setContainerUser } from './container-user.ts';

try {
  setContainerUser(bundleOf(process.argv.slice(2)));
} catch (error) {
  // runc is never started: ctr reports this line as the reason the container did not start.
  process.stderr.write(`slipway: cannot set the container's user: ${errorMessage(error)}\n`);
  process.exit(1);
}
