import { CloseCode } from '@tenantcast/sdk';
import type { WebSocket } from 'ws';

/**
 * Shutdown's close of the clients: each gets 1001 (Going Away) so that it reconnects elsewhere and
 * resumes; those still open after `timeoutMs` are cut.
 */
export async function closeClients(clients: ReadonlySet<WebSocket>, timeoutMs: number): Promise<void> {
  for (const ws of clients) ws.close(CloseCode.GoingAway, 'gateway shutting down: reconnect and resume');
  const deadline = Date.now() + timeoutMs;
  while (clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const ws of clients) ws.terminate();
}
