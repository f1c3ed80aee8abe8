/** Messages between a service and its renderer child process (shared/render/host.ts ↔ child.ts). */
import type { ErrorCode } from '../operations/errors.ts';

export interface CallMessage {
  type: 'call';
  id: number;
  op: string;
  payload: unknown;
}

/** Asks the running call to stop at its next step (the caller no longer wants its result). */
export interface CancelMessage {
  type: 'cancel';
  id: number;
}

export type ToChild = CallMessage | CancelMessage;

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  public: boolean;
  /** The original exception's name (e.g. pdf.js's PasswordException), kept as the cause's name. */
  causeName?: string;
}

export type FromChild =
  | { type: 'ready' }
  | { type: 'event'; id: number; event: unknown }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: SerializedError };
