import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type CloudEvent, createEvent, type RelayClient } from '@tenantcast/sdk';
import type { Command } from 'commander';
import { type CliIo, type ConnectionFlags, jsonOptions, relayClient, relayOptions, usageFail, wantsJson } from '../context.ts';
import { codeOf, ExitCode, reasonOf } from '../errors.ts';
import { Progress } from '../publish/progress.ts';
import { type InputShape, readEvents } from '../publish/read-events.ts';
import { type Summary, summaryJson, summaryText } from '../publish/summary.ts';

interface PublishFlags extends ConnectionFlags {
  tenant?: string;
  type?: string;
  source?: string;
  data?: string;
  id?: string;
  subject?: string;
}

/** Events handed to the client before waiting for them: two of the relay's batches, so that reading a file stays bounded. */
const WINDOW = 1000;

/** `tenantcast publish`: one event from flags, or many from a file or stdin (NDJSON or a JSON array), batched. */
export function registerPublish(program: Command, io: CliIo): void {
  const command = program
    .command('publish')
    .description('publish one event from flags, or events from a file or stdin (NDJSON, or a JSON array), in batches')
    .argument('[file]', 'a file of events: NDJSON, or a JSON array; - for stdin (the default when stdin is not a terminal)')
    .option('--tenant <id>', 'the tenantid: of the event from flags, and of events in the file that have none')
    .option('--type <type>', 'the event type (one event from flags)')
    .option('--source <uri>', 'the event source: of the event from flags, and of events in the file that have none')
    .option('--data <json>', 'the event data, as JSON (one event from flags)')
    .option('--id <id>', 'the event id (one event from flags; default a random UUID)')
    .option('--subject <subject>', 'the event subject (one event from flags)');
  for (const option of [...relayOptions(), ...jsonOptions()]) command.addOption(option);
  command
    .addHelpText(
      'after',
      `
Events in a file are CloudEvents; specversion defaults to 1.0, tenantid and source to --tenant and --source.
Exit code 1 when any event was refused (the summary says which and why).

Examples:
  tenantcast publish --tenant demo --type com.qlik.web-integration.deleted --source com.example/cli --data '{"id":"wi-1"}'
  tenantcast publish events.ndjson
  cat events.json | tenantcast publish --tenant demo --source com.example/import`,
    )
    .action(async (file: string | undefined, flags: PublishFlags, cmd: Command) => {
      const fail = usageFail(cmd);
      const fromFlags = flags.type !== undefined || flags.data !== undefined;
      if (fromFlags && file !== undefined) fail('give either an event by flags (--type, --data) or a file, not both');
      if (!fromFlags && file === undefined && io.stdin.isTTY)
        fail('nothing to publish: give --tenant, --type, --source (and --data), or a file, or pipe events to stdin');
      const client = relayClient(io, flags, fail);
      try {
        if (fromFlags) await publishOne(io, client, flags, fail);
        else await publishMany(io, client, flags, file ?? '-');
      } finally {
        await client.close();
      }
    });
}

async function publishOne(io: CliIo, client: RelayClient, flags: PublishFlags, fail: (message: string) => never): Promise<void> {
  for (const name of ['tenant', 'type', 'source'] as const) if (flags[name] === undefined) fail(`one event from flags needs --${name}`);
  let data: unknown;
  if (flags.data !== undefined) {
    try {
      data = JSON.parse(flags.data);
    } catch (error) {
      fail(`--data is not valid JSON (${(error as Error).message})`);
    }
  }
  const event = createEvent(
    flags.type as never,
    {
      source: flags.source!,
      tenantid: flags.tenant!,
      ...(data === undefined ? {} : { data }),
      ...(flags.id === undefined ? {} : { id: flags.id }),
      ...(flags.subject === undefined ? {} : { subject: flags.subject }),
    } as never,
  ) as CloudEvent;
  const result = await client.publish(event);
  if (wantsJson(io, flags)) io.stdout.write(`${JSON.stringify(result)}\n`);
  else
    io.stdout.write(
      result.duplicate ? `duplicate: ${result.id} was stored already at ${result.offset}\n` : `stored ${result.id} at ${result.offset}\n`,
    );
}

async function publishMany(io: CliIo, client: RelayClient, flags: PublishFlags, file: string): Promise<void> {
  const size = file === '-' ? undefined : (await stat(file)).size;
  const input = file === '-' ? io.stdin : createReadStream(file);
  let bytesRead = 0;
  const counted = (async function* () {
    for await (const chunk of input as AsyncIterable<Uint8Array | string>) {
      bytesRead += chunk.length;
      yield chunk;
    }
  })();
  const summary: Summary = { read: 0, accepted: 0, duplicates: 0, refused: [] };
  const progress = new Progress(io.stderr);
  const draw = () =>
    progress.update({
      done: summary.accepted + summary.duplicates + summary.refused.length,
      accepted: summary.accepted,
      duplicates: summary.duplicates,
      refused: summary.refused.length,
      ...(size ? { fraction: bytesRead / size } : {}),
    });
  let shape: InputShape = 'line';
  let window: Promise<void>[] = [];
  for await (const item of readEvents(counted, (found) => (shape = found))) {
    summary.read++;
    if ('error' in item) {
      summary.refused.push({ position: item.position, code: item.code, reason: `${item.code}: ${item.error}` });
      continue;
    }
    const event = withDefaults(item.event, flags);
    window.push(
      client.publish(event).then(
        (result) => {
          if (result.duplicate) summary.duplicates++;
          else summary.accepted++;
          draw();
        },
        (error: unknown) => {
          summary.refused.push({ position: item.position, code: codeOf(error), reason: reasonOf(error) });
          draw();
        },
      ),
    );
    if (window.length >= WINDOW) {
      await Promise.all(window);
      window = [];
    }
  }
  await Promise.all(window);
  progress.finish();
  io.stdout.write(wantsJson(io, flags) ? summaryJson(summary, shape) : summaryText(summary, shape));
  if (summary.refused.length > 0) io.setExitCode(ExitCode.Refused);
}

/** The event with specversion 1.0, and --tenant and --source, where it has none of its own. */
function withDefaults(event: Record<string, unknown>, flags: PublishFlags): CloudEvent {
  return {
    specversion: '1.0',
    ...(flags.tenant === undefined ? {} : { tenantid: flags.tenant }),
    ...(flags.source === undefined ? {} : { source: flags.source }),
    ...event,
  } as CloudEvent;
}
