/** Long work shows as listr2 steps on a terminal, as plain lines otherwise, and not at all with --json. */
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput, type ListrTask } from 'listr2';

export interface Step<C> {
  title: string;
  run: (context: C, report: (detail: string) => void) => Promise<void> | void;
}

export interface ProgressOptions {
  quiet: boolean;
}

export async function runSteps<C extends object>(steps: readonly Step<C>[], context: C, options: ProgressOptions): Promise<C> {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
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
  const listr = new Listr<C, 'default' | 'simple' | 'silent', 'simple'>(tasks, {
    ctx: context,
    exitOnError: true,
    renderer: options.quiet ? 'silent' : tty ? 'default' : 'simple',
    rendererOptions: { showErrorMessage: false, collapseErrors: false, logger, timer: PRESET_TIMER },
    fallbackRenderer: 'simple',
    fallbackRendererOptions: { logger, timer: PRESET_TIMER },
    collectErrors: false,
  });
  return listr.run();
}
