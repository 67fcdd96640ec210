/**
 * Reads events to publish from a stream: NDJSON (one JSON object a line, blank lines skipped), or
 * one JSON array when the input's first character that is not white space is `[`. NDJSON is read
 * line by line, so that a large file never sits in memory whole; an array is parsed at once.
 */

/** One input item: the event as read, or why it cannot be one; `position` is its line (NDJSON) or its index + 1 (array). */
export type InputItem = { position: number; event: Record<string, unknown> } | { position: number; code: string; error: string };

/** How the input was laid out: which word names an item's position in refusals. */
export type InputShape = 'line' | 'item';

/** Items of `input`, in order; `shape` is set once the first character has been seen. */
export async function* readEvents(
  input: AsyncIterable<string | Uint8Array>,
  onShape: (shape: InputShape) => void,
): AsyncGenerator<InputItem> {
  const decoder = new TextDecoder();
  let buffer = '';
  let shape: InputShape | undefined;
  let line = 0;
  for await (const chunk of input) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (shape === undefined) {
      const first = buffer.trimStart()[0];
      if (first === undefined) continue;
      shape = first === '[' ? 'item' : 'line';
      onShape(shape);
    }
    if (shape === 'item') continue;
    let end = buffer.indexOf('\n');
    while (end !== -1) {
      line++;
      const item = parseLine(buffer.slice(0, end), line);
      if (item !== undefined) yield item;
      buffer = buffer.slice(end + 1);
      end = buffer.indexOf('\n');
    }
  }
  buffer += decoder.decode();
  if (shape === 'item') {
    yield* parseArray(buffer);
    return;
  }
  if (buffer.trim() !== '') {
    const item = parseLine(buffer, line + 1);
    if (item !== undefined) yield item;
  }
}

function parseLine(text: string, position: number): InputItem | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    return { position, code: 'TC_ERR_INVALID_JSON', error: `not valid JSON (${(error as Error).message})` };
  }
  return asEvent(value, position);
}

function* parseArray(text: string): Generator<InputItem> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // The whole input is one unreadable item: nothing of it can be published.
    yield {
      position: 1,
      code: 'TC_ERR_INVALID_JSON',
      error: `the input starts with "[" but is not a valid JSON array (${(error as Error).message})`,
    };
    return;
  }
  if (!Array.isArray(value)) {
    yield { position: 1, code: 'TC_ERR_INVALID_JSON', error: 'the input starts with "[" but is not a JSON array' };
    return;
  }
  for (const [index, element] of value.entries()) yield asEvent(element, index + 1);
}

function asEvent(value: unknown, position: number): InputItem {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { position, code: 'TC_ERR_VALIDATION', error: 'not a JSON object (a CloudEvent is one)' };
  return { position, event: value as Record<string, unknown> };
}
