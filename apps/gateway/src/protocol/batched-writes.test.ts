import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { describe, test } from 'node:test';
import { CloseCode } from '@tenantcast/sdk';
import { until, useFixture } from '@tenantcast/testkit';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { textFrame } from '../frames/frames.ts';
import { Connection } from './connection.ts';

/**
 * The gateway's connection writes, against a real ws server and real ws clients over TCP: frames
 * queued in one event-loop turn leave together at its end, in order with everything else the
 * connection sends (a lone frame with nothing due leaves at once), and the bounded send buffer
 * still closes a slow consumer with 4008.
 */

/** A ws server of the suite's own; its sockets go, in the order clients connected, to the pairs that wait for them. */
const fixture = useFixture('a ws server', async (onClose) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  onClose(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });
  /** Server-side sockets no pair has taken yet. */
  const accepted: WebSocket[] = [];
  const waiting: Array<(ws: WebSocket) => void> = [];
  wss.on('connection', (ws) => {
    const next = waiting.shift();
    if (next) next(ws);
    else accepted.push(ws);
  });
  await once(wss, 'listening');
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, accepted, waiting };
});

/** A client that records its messages as text, and the server side of it wrapped in a Connection. */
async function pair(
  t: { after(fn: () => unknown): void },
  maxBuffered = 8 * 1024 * 1024,
): Promise<{
  client: WebSocket;
  texts: string[];
  connection: Connection;
  server: WebSocket;
  slow: { count: number };
  closed: Promise<{ code: number; reason: string }>;
}> {
  const server = new Promise<WebSocket>((resolve) => {
    const ready = fixture.accepted.shift();
    if (ready) resolve(ready);
    else fixture.waiting.push(resolve);
  });
  const client = new WebSocket(fixture.url);
  t.after(() => client.terminate());
  const texts: string[] = [];
  client.on('message', (data: RawData) => texts.push(data.toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await once(client, 'open');
  const ws = await server;
  t.after(() => ws.terminate());
  const slow = { count: 0 };
  const connection = new Connection(ws, maxBuffered, () => slow.count++);
  return { client, texts, connection, server: ws, slow, closed };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('batched connection writes', () => {
  test('frames of every size a header can say (7-bit, 16-bit, 64-bit lengths) arrive whole, UTF-8 intact', async (t) => {
    const { texts, connection } = await pair(t);
    const sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000];
    // Byte lengths exactly at the boundaries, with multi-byte characters in the text.
    const sent = sizes.map((n) => (n < 5 ? 'x'.repeat(n) : `é€${'x'.repeat(n - 5)}`));
    for (const text of sent) {
      const bytes = Buffer.byteLength(text);
      assert.equal(textFrame(text).length - bytes, bytes < 126 ? 2 : bytes < 65_536 ? 4 : 10, `the header of ${bytes} bytes`);
      assert.equal(connection.sendFrame(textFrame(text)), true);
    }
    await until(() => texts.length === sent.length, 'every frame');
    assert.deepEqual(texts, sent);
  });

  test('what one turn sends waits for the end of the turn, counts as buffered meanwhile, and arrives in order with the replies', async (t) => {
    const { texts, connection, server } = await pair(t);
    const shared = textFrame('{"event":"shared"}');
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 50 === 0) {
        connection.sendText(`{"reply":${i}}`);
        expected.push(`{"reply":${i}}`);
      }
      // The same frame object goes to the connection again and again, as an event's frame goes to every client.
      connection.sendFrame(i % 2 === 0 ? shared : textFrame(`{"n":${i}}`));
      expected.push(i % 2 === 0 ? '{"event":"shared"}' : `{"n":${i}}`);
    }
    const queued = expected.reduce((sum, text) => sum + textFrame(text).length, 0);
    // Nothing was written yet: the socket holds nothing, the connection counts the queued bytes.
    assert.equal(server.bufferedAmount, 0);
    assert.equal(connection.bufferedAmount, queued);
    await turn();
    assert.ok(connection.bufferedAmount < queued, 'written at the end of the turn');
    await until(() => texts.length === expected.length, 'every message');
    assert.deepEqual(texts, expected);
  });

  test('a frame sent alone to a connection with nothing due this turn leaves at once; what follows in the turn waits behind it, in order', async (t) => {
    const { texts, connection } = await pair(t);
    const alone = textFrame('{"n":0}');
    const next = textFrame('{"n":1}');
    const alsoAlone = textFrame('{"n":2}');
    assert.equal(connection.sendFrame(alone, true), true);
    assert.equal(connection.bufferedAmount, 0, 'the lone frame is not held for the end of the turn');
    connection.sendFrame(next);
    // Once the connection wrote this turn, even a lone frame queues: at most two writes a turn.
    connection.sendFrame(alsoAlone, true);
    assert.equal(connection.bufferedAmount, next.length + alsoAlone.length, 'the frames after it wait for the end of the turn');
    await until(() => texts.length === 3, 'every frame');
    assert.deepEqual(texts, ['{"n":0}', '{"n":1}', '{"n":2}']);
    // A later turn starts afresh: a lone frame leaves at once again.
    await turn();
    connection.sendFrame(textFrame('{"n":3}'), true);
    assert.equal(connection.bufferedAmount, 0);
    await until(() => texts.length === 4, 'the fourth frame');
  });

  test('turn after turn, a connection keeps its order, and several connections each get theirs', async (t) => {
    const a = await pair(t);
    const b = await pair(t);
    const expectedA: string[] = [];
    const expectedB: string[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 25; i++) {
        const text = `{"round":${round},"i":${i}}`;
        const frame = textFrame(text);
        a.connection.sendFrame(frame);
        expectedA.push(text);
        if (i % 3 === 0) {
          b.connection.sendFrame(frame);
          expectedB.push(text);
        }
      }
      if (round % 2 === 0) await turn();
    }
    await until(() => a.texts.length === expectedA.length && b.texts.length === expectedB.length, 'both streams');
    assert.deepEqual(a.texts, expectedA);
    assert.deepEqual(b.texts, expectedB);
  });

  test('a close right after sends delivers the frames queued before it, then the close code', async (t) => {
    const { texts, connection, closed } = await pair(t);
    for (let i = 0; i < 10; i++) connection.sendFrame(textFrame(`{"n":${i}}`));
    connection.close(CloseCode.TokenExpired, 'token expired');
    assert.equal(connection.closed, true);
    assert.equal(connection.sendFrame(textFrame('{"late":true}')), false, 'nothing is sent after the close');
    const { code } = await closed;
    assert.equal(code, CloseCode.TokenExpired);
    assert.deepEqual(
      texts,
      Array.from({ length: 10 }, (_, i) => `{"n":${i}}`),
    );
  });

  test('a client that starts closing gets nothing more, and what was queued for it is dropped quietly', async (t) => {
    const { client, connection, closed } = await pair(t);
    client.close(1000, 'bye');
    await until(() => connection.closed, 'the connection to see the close');
    assert.equal(connection.sendFrame(textFrame('{"n":1}')), false);
    assert.equal((await closed).code, 1000);
    await turn();
  });

  test('a healthy client taking a large batch in one turn is not a slow consumer (the batch is written as it grows)', async (t) => {
    const { texts, connection, closed, slow } = await pair(t, 65_536);
    const big = 'y'.repeat(16 * 1024);
    // 1.6 MiB in one turn, 25 times the limit: a reading client takes it as fast as it comes.
    for (let i = 0; i < 100; i++) assert.equal(connection.sendFrame(textFrame(`${i} ${big}`)), true, `frame ${i} was sent`);
    await until(() => texts.length === 100, 'every frame');
    assert.deepEqual(
      texts.map((m) => Number(m.split(' ')[0])),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(slow.count, 0);
    assert.equal(connection.closed, false);
    connection.close(1000, 'done');
    assert.equal((await closed).code, 1000);
  });

  test('a client that stops reading is closed with 4008 once its backlog passes the limit, after a gap-free prefix', async (t) => {
    const { client, texts, connection, closed, slow } = await pair(t, 65_536);
    (client as unknown as { _socket: Socket })._socket.pause();
    const big = 'z'.repeat(16 * 1024);
    let sent = 0;
    // The kernel's socket buffers take some MiB first; a few frames per turn, as notifications come.
    for (let round = 0; round < 2000 && !connection.closed; round++) {
      for (let i = 0; i < 4 && connection.sendFrame(textFrame(`${sent} ${big}`)); i++) sent++;
      await turn();
    }
    assert.equal(connection.closed, true, 'the connection was closed as slow');
    assert.equal(slow.count, 1);
    (client as unknown as { _socket: Socket })._socket.resume();
    const { code } = await closed;
    assert.equal(code, CloseCode.SlowConsumer);
    assert.equal(texts.length, sent, 'everything accepted before the close arrived before it');
    assert.deepEqual(
      texts.map((m) => Number(m.split(' ')[0])),
      Array.from({ length: sent }, (_, i) => i),
    );
  });
});
