import { TenantcastError } from '@tenantcast/sdk';
import { CommanderError } from 'commander';

/** The CLI's exit codes (docs/cli.md). */
export const ExitCode = {
  /** Done. */
  Done: 0,
  /** The relay or the gateway refused, or could not be reached; events were refused. */
  Refused: 1,
  /** The command line is wrong: an unknown command or flag, a missing argument or setting. */
  Usage: 2,
} as const;

/** The SDK's codes for options the caller got wrong: the command line's, here. */
const USAGE_CODES = new Set(['TC_ERR_BAD_OPTIONS']);

/**
 * The exit code and the line to print for anything a command threw: the one place an unknown
 * thrown value is turned into what the user sees. Commander's own errors have printed already.
 */
export function outcomeOf(error: unknown): { code: number; message?: string } {
  if (error instanceof CommanderError) return { code: error.exitCode === 0 ? ExitCode.Done : ExitCode.Usage };
  if (error instanceof TenantcastError) {
    return { code: USAGE_CODES.has(error.code) ? ExitCode.Usage : ExitCode.Refused, message: reasonOf(error) };
  }
  return { code: ExitCode.Refused, message: error instanceof Error ? error.message : String(error) };
}

/**
 * One line that says why: the server's TC_ERR code and message where the SDK's message carries them
 * (`403 TC_ERR_FORBIDDEN_TENANT: …`), else the SDK's own code before its message.
 */
export function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (/\bTC_ERR_[A-Z_]+\b/.test(error.message)) return error.message;
  return error instanceof TenantcastError ? `${error.code}: ${error.message}` : error.message;
}

/** The TC_ERR code behind an error: the server's when the message names it, else the SDK's. */
export function codeOf(error: unknown): string {
  const named = error instanceof Error ? /\bTC_ERR_[A-Z_]+\b/.exec(error.message)?.[0] : undefined;
  return named ?? (error instanceof TenantcastError ? error.code : 'TC_ERR_INTERNAL');
}
