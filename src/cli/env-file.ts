// `--env-file FILE`: reads each file (a regular file of at most 1 MiB, like
// policy files) and merges their variables, later files winning.

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { MAX_DOCUMENT_BYTES, readRegularFile, UnreadableFile } from '../core/read-file.js';
import { parseEnvFile } from '../policy/env-file.js';

export async function readEnvFiles(files: string[]): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const file of files) {
    let text: string;
    try {
      text = (await readRegularFile(file, MAX_DOCUMENT_BYTES)).toString('utf8');
    } catch (err) {
      if (!(err instanceof UnreadableFile)) throw err;
      throw new CapsuleError(ExitCode.NO_INPUT, `cannot read env file '${file}': ${err.message}`);
    }
    const parsed = parseEnvFile(text);
    if (!parsed.ok) throw new CapsuleError(ExitCode.CONFIG, `${file}: ${parsed.message}`);
    Object.assign(env, parsed.value);
  }
  return env;
}
