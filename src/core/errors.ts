// A user mistake or an unusable input: reported as one line, with an exit code.

export class CapsuleError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
    this.name = 'CapsuleError';
  }
}
