// UTF-8 encoding of names the guest sees (paths, directory entries), shared
// by the ABI glue and the virtual system layer.

const utf8Encoder = new TextEncoder();

export function encodeUtf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}
