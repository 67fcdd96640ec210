/** Compares two non-negative decimal strings by value, without allocating: leading zeros are ignored. */
function compareDecimal(a: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): number {
  while (aFrom < aTo - 1 && a.charCodeAt(aFrom) === 48) aFrom++;
  while (bFrom < bTo - 1 && b.charCodeAt(bFrom) === 48) bFrom++;
  const lengths = aTo - aFrom - (bTo - bFrom);
  if (lengths !== 0) return lengths > 0 ? 1 : -1;
  for (let i = 0; i < aTo - aFrom; i++) {
    const d = a.charCodeAt(aFrom + i) - b.charCodeAt(bFrom + i);
    if (d !== 0) return d > 0 ? 1 : -1;
  }
  return 0;
}

/**
 * Orders two stream offsets (`<ms>-<seq>`, or `<ms>` alone) numerically: negative, zero or positive.
 * It runs for every subscriber and every event, so it compares digits in place instead of parsing.
 */
export function compareOffsets(a: string, b: string): number {
  let aDash = a.indexOf('-');
  let bDash = b.indexOf('-');
  if (aDash < 0) aDash = a.length;
  if (bDash < 0) bDash = b.length;
  const ms = compareDecimal(a, 0, aDash, b, 0, bDash);
  if (ms !== 0) return ms;
  const aSeq = aDash < a.length ? aDash + 1 : -1;
  const bSeq = bDash < b.length ? bDash + 1 : -1;
  if (aSeq < 0 && bSeq < 0) return 0;
  if (aSeq < 0) return compareDecimal('0', 0, 1, b, bSeq, b.length);
  if (bSeq < 0) return compareDecimal(a, aSeq, a.length, '0', 0, 1);
  return compareDecimal(a, aSeq, a.length, b, bSeq, b.length);
}
