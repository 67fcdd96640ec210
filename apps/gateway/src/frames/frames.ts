/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2), built once and written as they are to every
 * socket that gets them: a final, unmasked text frame; no extension (the gateway negotiates none).
 */

/** Bytes of the header of a server frame with a payload of `length` bytes. */
export function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

/** A whole text frame (header and UTF-8 payload in one buffer) carrying `text`. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = headerLength(length);
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, length, 'utf8');
  return frame;
}

/** The payload of a frame built by `textFrame` (without copying). */
export function payloadOf(frame: Buffer): Buffer {
  const len7 = frame[1]! & 0x7f;
  return frame.subarray(len7 === 126 ? 4 : len7 === 127 ? 10 : 2);
}
