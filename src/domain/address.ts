/**
 * What a network address may be, wherever one comes from: a node config (node/fields.ts) or a validator announcing
 * itself on chain (chain/app/validators). One rule, ASCII only: a host name or an IP literal, at most 253 characters
 * (DNS's limit), so an address is never a path, a URL, a control character or two spellings of one string.
 */
const HOST = /^[A-Za-z0-9.\-:]+$/;

export const MAX_HOST_LENGTH = 253;

export function isHostName(h: string): boolean {
  return h.length >= 1 && h.length <= MAX_HOST_LENGTH && HOST.test(h);
}
