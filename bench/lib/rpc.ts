import { type ChildProcess, fork } from 'node:child_process';
import { register } from './cleanup.ts';
import { ROOT } from './paths.ts';
import { readRss } from './proc-stats.ts';

/**
 * A tiny request/response protocol over the IPC channel of a forked child (advanced serialization,
 * so typed arrays cross as they are). Load generators and peer servers are such children: each runs
 * in a process of its own, apart from the server under test.
 */

interface Request {
  kind: 'call';
  id: number;
  method: string;
  params: unknown;
}
interface Reply {
  kind: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
interface Ready {
  kind: 'ready';
  info?: unknown;
}
type Handler = (params: any) => unknown;

/** Child side: answers the parent's calls; exits when the parent goes away. */
export function serve(handlers: Record<string, Handler>, info?: unknown): void {
  if (process.send === undefined) throw new Error('serve() runs in a forked child only');
  process.on('message', (message: Request) => {
    if (message?.kind !== 'call') return;
    const handler = handlers[message.method];
    const reply = (r: Omit<Reply, 'kind' | 'id'>) => process.send?.({ kind: 'reply', id: message.id, ...r } satisfies Reply);
    if (handler === undefined) {
      reply({ ok: false, error: `no method ${message.method}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.params))
      .then(
        (result) => reply({ ok: true, result }),
        (error: unknown) => reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // The orchestrator owns every child: if it goes, so do they.
  process.on('disconnect', () => process.exit(0));
  process.send({ kind: 'ready', info } satisfies Ready);
}

export interface WorkerOptions {
  env?: Record<string, string>;
  args?: string[];
  /** Extra node flags before `--import tsx`, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

/** Parent side: a forked child that runs `file` with tsx. */
export class Worker {
  readonly name: string;
  readonly proc: ChildProcess;
  info: unknown;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #exited = false;

  private constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.proc = proc;
    proc.on('message', (message: Reply | Ready) => {
      if (message?.kind !== 'reply') return;
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`${this.name}: ${message.error}`));
    });
    proc.on('exit', (code, signal) => {
      this.#exited = true;
      for (const [id, pending] of this.#pending) {
        clearTimeout(pending.timer);
        pending.reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) during call ${id}`));
      }
      this.#pending.clear();
    });
  }

  /** Forks `file` (relative to the repository root) as `node --import tsx file`, and waits for it to serve. */
  static async start(name: string, file: string, options: WorkerOptions = {}): Promise<Worker> {
    const proc = fork(file, options.args ?? [], {
      cwd: ROOT,
      execPath: process.execPath,
      execArgv: [...(options.nodeFlags ?? []), '--import', 'tsx'],
      env: { ...process.env, ...options.env },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker = new Worker(name, proc);
    const unregister = register({ stop: () => worker.stop(), kill: () => proc.kill('SIGKILL') });
    proc.once('exit', unregister);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${name} did not start within ${options.readyTimeoutMs ?? 30_000} ms`));
      }, options.readyTimeoutMs ?? 30_000);
      proc.on('message', (message: Ready) => {
        if (message?.kind !== 'ready') return;
        clearTimeout(timer);
        worker.info = message.info;
        resolve();
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with code ${code} before it was ready`));
      });
    });
    return worker;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Calls `method` in the child. */
  call<T = unknown>(method: string, params?: unknown, timeoutMs = 120_000): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}.${method} took over ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.proc.send({ kind: 'call', id, method, params } satisfies Request);
    });
  }

  rss(): number {
    return readRss(this.pid);
  }

  /** Ends the child: disconnects (it exits by itself), then SIGTERM, then SIGKILL. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.proc.connected) this.proc.disconnect();
    const term = setTimeout(() => this.proc.kill('SIGTERM'), graceMs / 2);
    const kill = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(term);
    clearTimeout(kill);
  }
}
