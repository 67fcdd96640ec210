import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type InputShape, readEvents } from './read-events.ts';

/** Reads `chunks` (text, or bytes that may split a character) as the CLI reads a file. */
async function read(chunks: Array<string | Uint8Array>): Promise<{ shape: InputShape | undefined; items: unknown[] }> {
  let shape: InputShape | undefined;
  const items: unknown[] = [];
  async function* input() {
    for (const chunk of chunks) yield typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
  }
  for await (const item of readEvents(input(), (found) => (shape = found))) items.push(item);
  return { shape, items };
}

test('NDJSON across chunk boundaries (a multi-byte character split too), blank lines skipped, positions are line numbers', async () => {
  const text = '{"id":"a"}\r\n\n{"id":"é"}\nnot json\n[1]\n{"id":"last"}';
  const bytes = new TextEncoder().encode(text);
  // 'é' is bytes 20 and 21: the second chunk ends between them.
  const { items, shape } = await read([bytes.slice(0, 5), bytes.slice(5, 21), bytes.slice(21)]);
  assert.equal(shape, 'line');
  assert.deepEqual(items, [
    { position: 1, event: { id: 'a' } },
    { position: 3, event: { id: 'é' } },
    { position: 4, code: 'TC_ERR_INVALID_JSON', error: (items[2] as { error: string }).error },
    { position: 5, code: 'TC_ERR_VALIDATION', error: 'not a JSON object (a CloudEvent is one)' },
    { position: 6, event: { id: 'last' } },
  ]);
  assert.match((items[2] as { error: string }).error, /^not valid JSON \(/);
});

test('a JSON array, after leading white space: positions are 1-based indexes; an unreadable array is one refusal', async () => {
  assert.deepEqual(await read(['  \n [{"id":"a"},', ' 7, {"id":"b"}]\n']), {
    shape: 'item',
    items: [
      { position: 1, event: { id: 'a' } },
      { position: 2, code: 'TC_ERR_VALIDATION', error: 'not a JSON object (a CloudEvent is one)' },
      { position: 3, event: { id: 'b' } },
    ],
  });
  const broken = await read(['[{"id":"a"}, oops]']);
  assert.equal(broken.items.length, 1);
  assert.match((broken.items[0] as { error: string }).error, /^the input starts with "\[" but is not a valid JSON array/);
  assert.deepEqual(await read(['', '  \n']), { shape: undefined, items: [] });
});
