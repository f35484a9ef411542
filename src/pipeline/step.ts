/** A step of the build: what it is called and what it does; `report` tells its progress (the command line shows it). */
export interface Step<C> {
  title: string;
  run: (context: C, report: (detail: string) => void) => Promise<void> | void;
}
