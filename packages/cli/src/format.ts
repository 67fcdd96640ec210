/** How events and records read on a terminal; JSON output needs nothing of this. */

/** An event as the CLI prints it: a CloudEvent with its offset in `relayoffset`, as the gateway sends it. */
export interface PrintedEvent {
  relayoffset: string;
  id?: unknown;
  type?: unknown;
  source?: unknown;
  time?: unknown;
  data?: unknown;
  [attribute: string]: unknown;
}

const DATA_WIDTH = 160;

/** One line for people: offset, time, type, source, id, then the data (cut at 160 characters). */
export function eventLine(event: PrintedEvent): string {
  const data = event.data === undefined ? '' : JSON.stringify(event.data);
  const shown = data.length > DATA_WIDTH ? `${data.slice(0, DATA_WIDTH - 1)}…` : data;
  return [event.relayoffset, event.time ?? '-', event.type, event.source, event.id, shown].map((part) => String(part ?? '')).join('  ');
}

/** Rows as aligned columns under a header; `-` for null and absent cells. */
export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): string {
  const cells = [
    header,
    ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === '' ? '-' : String(cell)))),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return (
    cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : (cell ?? '').padEnd(widths[i]!))).join('  ')).join('\n') + '\n'
  );
}

/** Fields as `name: value` lines, for one record. */
export function fields(record: Readonly<Record<string, unknown>>): string {
  const width = Math.max(...Object.keys(record).map((key) => key.length));
  return (
    Object.entries(record)
      .map(
        ([key, value]) =>
          `${`${key}:`.padEnd(width + 1)} ${value === null || value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
      )
      .join('\n') + '\n'
  );
}

/** `3, 7, 10-20`: sorted whole numbers with runs collapsed. */
export function ranges(numbers: readonly number[]): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j;
  }
  return parts.join(', ');
}
