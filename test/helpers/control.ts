// Talking to a control socket the way a client (or an attacker) would: raw lines.

import net from 'node:net';

/** Sends `line` to the control socket `file`; resolves with the whole answer once the server has closed. */
export function ask(file: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(file);
    let text = '';
    conn.setEncoding('utf8');
    conn.on('data', (s: string) => { text += s; });
    conn.on('error', reject);
    conn.on('close', () => resolve(text));
    conn.write(line);
  });
}
