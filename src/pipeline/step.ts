/** A step of the build: what it is called and what it does; `report` tells its progress (the command line shows it). */
export interface Step<C> {
  title: string;
  run: (context: C, report: (detail: string) => void) => Promise<void> | void;
}

/** Shows steps running (the command line's progress), and runs them in order on one context. */
export type StepRunner = <C extends object>(steps: readonly Step<C>[], context: C) => Promise<unknown>;

/**
 * Steps in their order, each given what the steps before it made: a step returns what it makes, and
 * the list adds it to the context the next steps read. A step that needs what no earlier step makes
 * does not compile.
 */
export class StepList<Start extends object, Have extends object = Start> {
  private constructor(readonly steps: readonly Step<Start>[]) {}

  static from<Start extends object>(): StepList<Start> {
    return new StepList<Start>([]);
  }

  then<Made extends object | void>(
    title: string,
    run: (context: Have, report: (detail: string) => void) => Made | Promise<Made>,
  ): StepList<Start, Made extends object ? Have & Made : Have> {
    const step: Step<Start> = {
      title,
      run: async (context, report) => {
        const made = await run(context as unknown as Have, report);
        if (made) Object.assign(context, made);
      },
    };
    return new StepList([...this.steps, step]);
  }
}
