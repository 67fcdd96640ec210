import { compareOffsets } from '@tenantcast/sdk';

export { compareOffsets };

const OFFSET_PATTERN = /^(?:0|(\d{1,20})-(\d{1,20}))$/;
const UINT64_MAX = 2n ** 64n - 1n;

/** The largest stream entry id: nothing can follow it. */
export const LAST_OFFSET = `${UINT64_MAX}-${UINT64_MAX}`;

/** Whether `value` is a stream entry id (`<ms>-<seq>`, both 64-bit unsigned) or `0` for "before the first entry". */
export function isOffset(value: string): boolean {
  const match = OFFSET_PATTERN.exec(value);
  if (match === null) return false;
  return match[1] === undefined || (BigInt(match[1]) <= UINT64_MAX && BigInt(match[2]!) <= UINT64_MAX);
}
