// The `tenantcast` process (bin/tenantcast.js imports it): the only file that reads process.env and
// argv, handles signals and sets the exit code. createProgram does the rest.
import { outcomeOf } from './errors.ts';
import { createProgram } from './program.ts';

let exitCode = 0;
const listeners = new Set<() => void>();
const interrupted = () => {
  if (listeners.size === 0) process.exit(130);
  for (const listener of listeners) listener();
};
process.on('SIGINT', interrupted);
process.on('SIGTERM', interrupted);
// A reader that went away (`tenantcast tail demo | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(exitCode);
  throw error;
});

const program = createProgram({
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  onInterrupt(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  setExitCode(code) {
    exitCode = code;
  },
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const outcome = outcomeOf(error);
  if (outcome.message !== undefined) process.stderr.write(`tenantcast: ${outcome.message}\n`);
  exitCode = outcome.code;
}
process.exitCode = exitCode;
