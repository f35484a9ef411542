/**
 * Long work shows as listr2 steps on a terminal; off one (a log, CI) as one line per step when it
 * ends, with its last count and its time; not at all with --json. A failure is not printed here:
 * the error is reported once, by report.ts.
 */
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput, type ListrTask } from 'listr2';
import type { Step } from '../pipeline/step.ts';

export interface ProgressOptions {
  quiet: boolean;
}

export async function runSteps<C extends object>(steps: readonly Step<C>[], context: C, options: ProgressOptions): Promise<C> {
  if (options.quiet) return runQuietly(steps, context, () => undefined);
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  if (!tty) return runQuietly(steps, context, (line) => process.stderr.write(`${line}\n`));
  const tasks: ListrTask<C>[] = steps.map((step) => ({
    title: step.title,
    task: async (ctx, task) => {
      await step.run(ctx, (detail) => {
        task.output = detail;
      });
    },
  }));
  // Progress goes to stderr, so stdout carries only the command's data.
  const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  const listr = new Listr<C, 'default'>(tasks, {
    ctx: context,
    exitOnError: true,
    renderer: 'default',
    rendererOptions: { showErrorMessage: false, collapseErrors: false, logger, timer: PRESET_TIMER },
    collectErrors: false,
  });
  return listr.run();
}

/** Runs the steps in order, telling `line` of each one that ends: its title, its last count, its time. */
async function runQuietly<C extends object>(steps: readonly Step<C>[], context: C, line: (text: string) => void): Promise<C> {
  for (const step of steps) {
    const started = performance.now();
    let last = '';
    const took = () => `[${((performance.now() - started) / 1000).toFixed(1)} s]`;
    try {
      await step.run(context, (detail) => {
        last = detail;
      });
    } catch (error) {
      line(`✖ ${step.title} ${took()}`);
      throw error;
    }
    line(`✔ ${step.title}${last ? ` (${last})` : ''} ${took()}`);
  }
  return context;
}
