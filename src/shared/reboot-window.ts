/**
 * A reboot window, "HH:MM-HH:MM" in the host's local time (it may run past midnight, as
 * "23:00-01:00" does): `apply --reboot` outside it installs at once but reboots at a random moment
 * of the next window, so a fleet does not go down together at an inconvenient hour.
 */
export interface RebootWindow {
  /** Minutes after local midnight. */
  start: number;
  end: number;
}

export const WINDOW_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** A window that ends when it starts never opens: the schemas refuse it, as parseWindow does. */
export function isEmptyWindow(text: string): boolean {
  const [start, end] = text.split('-');
  return start === end;
}

export function parseWindow(text: string): RebootWindow {
  const match = WINDOW_PATTERN.exec(text);
  if (!match) throw new Error(`"${text}" is not a reboot window such as 02:00-04:00`);
  if (isEmptyWindow(text)) throw new Error(`the reboot window "${text}" is empty`);
  const [, h1, m1, h2, m2] = match.map(Number) as [number, number, number, number, number];
  return { start: h1 * 60 + m1, end: h2 * 60 + m2 };
}

const minuteOfDay = (date: Date) => date.getHours() * 60 + date.getMinutes();

export function isOpen(window: RebootWindow, at: Date): boolean {
  const now = minuteOfDay(at);
  return window.start < window.end ? now >= window.start && now < window.end : now >= window.start || now < window.end;
}

/** Minutes the window stays open. */
export function windowLength(window: RebootWindow): number {
  return (window.end - window.start + 24 * 60) % (24 * 60);
}

/** The next moment the window opens, after `at` (today or tomorrow), in local time. */
export function nextOpening(window: RebootWindow, at: Date): Date {
  const opening = new Date(at);
  opening.setHours(Math.floor(window.start / 60), window.start % 60, 0, 0);
  if (opening <= at) opening.setDate(opening.getDate() + 1);
  return opening;
}

/** `YYYY-MM-DD HH:MM:00`, local time: systemd's calendar syntax for one moment. */
export function calendarMoment(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:00`;
}
