import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { Progress, render } from './progress.ts';

const state = { done: 600, accepted: 590, duplicates: 8, refused: 2 };

/** A stream that keeps what is written, a terminal or not. */
function stream(isTTY: boolean) {
  const out = Object.assign(new PassThrough(), { isTTY, text: '' });
  out.on('data', (chunk: Buffer) => {
    out.text += chunk.toString();
  });
  return out;
}

test('the bar is drawn on a terminal, at most every 100 ms, and erased at the end', async () => {
  let now = 0;
  const tty = stream(true);
  const progress = new Progress(tty, () => now);
  progress.update({ ...state, fraction: 0.25 });
  progress.update({ ...state, fraction: 0.3 });
  now = 100;
  progress.update({ ...state, fraction: 0.5 });
  progress.finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(tty.text, `\r\x1b[2K${render({ ...state, fraction: 0.25 })}\r\x1b[2K${render({ ...state, fraction: 0.5 })}\r\x1b[2K`);
  assert.equal(render({ ...state, fraction: 0.5 }), '[############------------]  50%  600 events: 590 stored, 8 duplicates, 2 refused');
  assert.equal(render(state), '600 events: 590 stored, 8 duplicates, 2 refused');
});

test('nothing is written when stderr is not a terminal', async () => {
  const pipe = stream(false);
  const progress = new Progress(pipe, () => 1000);
  progress.update({ ...state, fraction: 1 });
  progress.finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(pipe.text, '');
});
