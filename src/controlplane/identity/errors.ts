/** MoltID failures: one named class per failure, each with a clear message. */
import { InvalidInputError, MoltnetError } from '../../common/errors.js';

/** Not a `MOLTID:0x<DER SubjectPublicKeyInfo>` string. */
export class InvalidMoltIdError extends InvalidInputError {}
/** Not a `MAX#0x<key>#<mls>` permanent address. */
export class InvalidPermanentAddressError extends InvalidInputError {}
/** Not `0x` followed by an even number of hex digits (or not a public key of a kind we verify). */
export class InvalidHexError extends InvalidInputError {}
export class InvalidPublicKeyError extends InvalidInputError {}
/** A persona object that is not shaped as one (a bad signature is a verdict, not this). */
export class InvalidPersonaError extends InvalidInputError {}

/** The built-in key is not there yet: run `moltnet id init`. */
export class IdentityNotInitializedError extends MoltnetError {}
/** The built-in key file is unreadable, corrupt or readable by others. */
export class KeyFileError extends MoltnetError {}
/** The command needs the Minima backend (Static MLS, permanent address, contacts). */
export class MinimaBackendRequiredError extends MoltnetError {
  override readonly exitCode = 2;
}

/** No answer from the Minima RPC (refused, timed out, reset). */
export class MinimaUnreachableError extends MoltnetError {}
/** The Minima RPC refused our credentials (HTTP 401/403). */
export class MinimaAuthError extends MoltnetError {}
/** The reply was not a Minima reply (not JSON, no status, too large, HTTP error). */
export class MinimaReplyError extends MoltnetError {}
/** Maxima kept answering "starting" past the retry budget. */
export class MinimaNotReadyError extends MoltnetError {}
/** A command answered status:false (or a check answered valid/success false where that is an error). */
export class MinimaCommandError extends MoltnetError {}
