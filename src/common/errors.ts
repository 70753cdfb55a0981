/**
 * Control-plane and user-facing failures are named error classes with a clear default message.
 * The data plane never throws for bad packets: it counts and drops.
 */
export class MoltnetError extends Error {
  /** Exit code the CLI uses when this error reaches it. */
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad user input (CLI argument, address, UUID): exit 2. */
export class InvalidInputError extends MoltnetError {
  override readonly exitCode = 2;
}

/** A config file that cannot be read or does not validate: exit 2. */
export class ConfigError extends MoltnetError {
  override readonly exitCode = 2;
}

/** The daemon's control socket is not there or did not answer. */
export class ControlSocketError extends MoltnetError {}

/** A system command (ip, ...) failed. */
export class SystemCommandError extends MoltnetError {}
