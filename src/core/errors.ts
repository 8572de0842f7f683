// Errors a user can act on. The message is one line that says what happened and what to do next;
// the CLI prints it on stderr and exits 1, the extension shows it with a "Show log" button.
export class UserError extends Error {
  constructor(message: string, readonly detail?: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A command line that does not parse: exit code 2 and the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
