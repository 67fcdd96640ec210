import type { Filter } from '@tenantcast/sdk';
import { type Command, Option } from 'commander';
import { collectFilter } from '../context.ts';

/** The filter flags of `tail` and `webhooks create|update`. */
export interface FilterFlags {
  typePrefix?: string;
  type?: string;
  source?: string;
  filter?: unknown[];
}

/** Adds the filter flags: shorthands for the common filters, and `--filter` for any (CloudEvents Subscriptions API, docs/protocol.md). */
export function addFilterOptions(command: Command, what: string): Command {
  return command
    .addOption(new Option('--type-prefix <prefix>', `only ${what} whose type starts with this`))
    .addOption(new Option('--type <type>', `only ${what} of this type`))
    .addOption(new Option('--source <source>', `only ${what} from this source`))
    .addOption(
      new Option('--filter <json>', 'a filter as JSON, e.g. \'{"suffix":{"type":".deleted"}}\'; repeatable, all must hold').argParser(
        collectFilter,
      ),
    );
}

/** The filters the flags ask for, all of which must hold; undefined when none. */
export function filtersOf(flags: FilterFlags): Filter[] | undefined {
  const filters: unknown[] = [...(flags.filter ?? [])];
  if (flags.typePrefix !== undefined) filters.push({ prefix: { type: flags.typePrefix } });
  if (flags.type !== undefined) filters.push({ exact: { type: flags.type } });
  if (flags.source !== undefined) filters.push({ exact: { source: flags.source } });
  return filters.length === 0 ? undefined : (filters as Filter[]);
}
