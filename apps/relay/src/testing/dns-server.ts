import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** A DNS server on 127.0.0.1 (UDP) for tests: names it answers, and names it never answers. */
export interface TestDnsServer {
  /** `127.0.0.1:<port>`, for WEBHOOK_DNS_SERVERS. */
  address: string;
  /** Queries received, by name. */
  queries: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Answers A queries for `records` (name → IPv4 addresses, TTL 60 s), an empty answer to anything
 * else about those names, NXDOMAIN for other names, and nothing at all for names matching `silent`,
 * as a DNS server that is down or far away would. Only what RFC 1035 needs for one question.
 */
export async function startDnsServer(records: Record<string, string[]>, silent: RegExp = /^$/): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const queries = new Map<string, number>();
  socket.on('message', (query, peer) => {
    // The question: labels from byte 12, ending with a zero byte, then QTYPE and QCLASS.
    const labels: string[] = [];
    let at = 12;
    while (at < query.length && query[at] !== 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString('ascii'));
      at += query[at]! + 1;
    }
    const question = query.subarray(12, at + 5);
    const type = query.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    queries.set(name, (queries.get(name) ?? 0) + 1);
    if (silent.test(name)) return;
    const known = Object.hasOwn(records, name);
    const addresses = known && type === 1 ? records[name]! : [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addresses.length, 6);
    const answers = addresses.map((address) => {
      const answer = Buffer.alloc(16);
      answer.writeUInt16BE(0xc00c, 0);
      answer.writeUInt16BE(1, 2);
      answer.writeUInt16BE(1, 4);
      answer.writeUInt32BE(60, 6);
      answer.writeUInt16BE(4, 10);
      for (const [i, part] of address.split('.').entries()) answer.writeUInt8(Number(part), 12 + i);
      return answer;
    });
    socket.send(Buffer.concat([header, question, ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
