/**
 * A one-line progress bar on stderr, for people: drawn only when stderr is a terminal, redrawn at
 * most every 100 ms, and erased at the end, so that it never mixes into output that is read by a
 * program (a pipe, a file, a CI log).
 */

/** What the bar shows. */
export interface ProgressState {
  /** Events settled: stored, duplicates, refused. */
  done: number;
  accepted: number;
  duplicates: number;
  refused: number;
  /** The share of the input read, from 0 to 1, when its size is known (a file). */
  fraction?: number;
}

const WIDTH = 24;
const REDRAW_MS = 100;

export class Progress {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #now: () => number;
  #drawnAt = Number.NEGATIVE_INFINITY;
  #drawn = false;

  constructor(stream: NodeJS.WritableStream & { isTTY?: boolean }, now: () => number = Date.now) {
    this.#stream = stream;
    this.#now = now;
  }

  /** Redraws the bar, unless it was drawn less than 100 ms ago or stderr is not a terminal. */
  update(state: ProgressState): void {
    if (!this.#stream.isTTY || this.#now() - this.#drawnAt < REDRAW_MS) return;
    this.#drawnAt = this.#now();
    this.#drawn = true;
    this.#stream.write(`\r\x1b[2K${render(state)}`);
  }

  /** Erases the bar, if one was drawn. */
  finish(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}

/** The bar's text: `[#########---------------]  38%  1200 events: 1190 stored, 8 duplicates, 2 refused`. */
export function render(state: ProgressState): string {
  const counts = `${state.done} events: ${state.accepted} stored, ${state.duplicates} duplicates, ${state.refused} refused`;
  if (state.fraction === undefined) return counts;
  const fraction = Math.min(1, Math.max(0, state.fraction));
  const filled = Math.round(fraction * WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${counts}`;
}
