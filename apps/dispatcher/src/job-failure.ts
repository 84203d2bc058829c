import { UnrecoverableError } from 'bullmq';

/**
 * Fails a job for good, without its remaining attempts (an UnrecoverableError to BullMQ), with
 * why as a value: the failure metrics count by `reason`, never by the words of the message.
 */
export class JobFailure extends UnrecoverableError {
  /** `recipient_unreachable`, `invalid_job`, or the class of the error that refused the send. */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}
