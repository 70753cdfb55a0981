/** WireGuard device failures: one named class per failure, each with a message that says what to do. */
import { MoltnetError } from '../../common/errors.js';

/** The WireGuard key file is unreadable, corrupt or readable by others. */
export class WireGuardKeyError extends MoltnetError {}

/** A UAPI request failed: no socket, no answer in time, or a non-zero errno. */
export class WireGuardUapiError extends MoltnetError {
  constructor(
    message: string,
    /** The socket error code (ENOENT, ECONNREFUSED, ...) when the connection itself failed. */
    readonly code?: string,
    /** WireGuard's errno when it answered with one other than 0. */
    readonly errno?: number,
  ) {
    super(message);
  }
}

/** The wireguard-go binary is not installed (or not where the option says). */
export class WireGuardNotFoundError extends MoltnetError {}

/** Another wireguard-go already serves this interface name. */
export class WireGuardBusyError extends MoltnetError {}

/** The device could not be started, or was used while it is not running. */
export class WireGuardDeviceError extends MoltnetError {}
