// Errors a user can act on. The message is one line that says what happened and what to do next;
// the CLI prints it on stderr and exits 1, the extension shows it with a "Show log" button.
export class UserError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** What the user named does not exist (a workload, a site, a link): a UserError that code can test for. */
export class NotFound extends UserError {
  constructor(message: string, detail?: string) {
    super(message, detail);
    this.name = 'NotFound';
  }
}

/** The user cancelled (a dialog closed, a progress notification's Cancel): said in the log, never shown as an error. */
export class Cancelled extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'Cancelled';
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
