// The node:wasi contender as a command, mirroring `capsule run`:
//   node --no-warnings nodewasi-runner.js [--dir HOST::GUEST]... module.wasm [args...]

import { runNodeWasi } from './baseline.js';

const argv = process.argv.slice(2);
const preopens: Record<string, string> = {};
while (argv[0] === '--dir' && argv[1] !== undefined) {
  const [host, guest] = argv[1].split('::');
  preopens[guest ?? host!] = host!;
  argv.splice(0, 2);
}
const [module, ...args] = argv;
if (module === undefined) {
  process.stderr.write('usage: nodewasi-runner [--dir HOST::GUEST]... module.wasm [args...]\n');
  process.exit(2);
}
process.exit(await runNodeWasi(module, args, preopens));
