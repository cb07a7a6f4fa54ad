// ipaddr.js, loaded on first use: most runs never parse an address, and
// start-up should not pay for the library.

import { createRequire } from 'node:module';

type IpAddr = typeof import('ipaddr.js');
let lib: IpAddr | undefined;

export function ipaddr(): IpAddr {
  return (lib ??= createRequire(import.meta.url)('ipaddr.js') as IpAddr);
}
