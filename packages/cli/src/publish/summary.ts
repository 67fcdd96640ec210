import { ranges } from '../format.ts';
import type { InputShape } from './read-events.ts';

/** One input item that was not stored, and why. */
export interface Refusal {
  position: number;
  /** The TC_ERR code: the relay's where its answer named one, else the SDK's or the CLI's. */
  code: string;
  reason: string;
}

/** What a publish run did, counted exactly: every item read is stored, a duplicate, or refused. */
export interface Summary {
  read: number;
  /** Stored by this run. */
  accepted: number;
  /** Had already (same `source` and `id`): not stored again. */
  duplicates: number;
  refused: Refusal[];
}

/** The summary as JSON, refusals in input order with `line` or `item` naming their position. */
export function summaryJson(summary: Summary, shape: InputShape): string {
  const refused = [...summary.refused].sort((a, b) => a.position - b.position);
  return `${JSON.stringify({
    read: summary.read,
    accepted: summary.accepted,
    duplicates: summary.duplicates,
    refused: refused.map(({ position, code, reason }) => ({ [shape]: position, code, reason })),
  })}\n`;
}

/**
 * The summary for people: the counts, then each reason once with the positions it refused
 * (`lines 3, 7, 10-20: …`), so that a token refused for 10,000 events is one line.
 */
export function summaryText(summary: Summary, shape: InputShape): string {
  const lines = [`read ${summary.read}: accepted ${summary.accepted}, duplicates ${summary.duplicates}, refused ${summary.refused.length}`];
  const byReason = new Map<string, number[]>();
  for (const { position, reason } of summary.refused) byReason.set(reason, [...(byReason.get(reason) ?? []), position]);
  const groups = [...byReason].sort((a, b) => Math.min(...a[1]) - Math.min(...b[1]));
  for (const [reason, positions] of groups) lines.push(`  ${shape}${positions.length > 1 ? 's' : ''} ${ranges(positions)}: ${reason}`);
  return `${lines.join('\n')}\n`;
}
