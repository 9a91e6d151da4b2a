/**
 * Keeping credentials out of logs and the status page. Config values are passed around whole, so
 * the rule is applied where text leaves the process, not where values are created.
 */

/** Placeholder written in place of a secret. */
export const REDACTED = '<redacted>';

// Field names whose values are secrets whatever they contain.
const SECRET_KEY = /(pass(word)?|secret|token|credential|authorization|api[_-]?key|cookie)/i;

/** True when a field or header named `key` carries a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * `url` with any userinfo password and secret-looking query parameters replaced by
 * {@link REDACTED}. Text that is not an absolute URL is returned unchanged.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  let changed = false;
  if (parsed.password) {
    parsed.password = 'redacted';
    changed = true;
  }
  for (const key of [...parsed.searchParams.keys()]) {
    if (isSecretKey(key)) {
      parsed.searchParams.set(key, 'redacted');
      changed = true;
    }
  }
  return changed ? parsed.toString() : url;
}

/** A field value safe to print: secrets by key are hidden, URLs lose their credentials. */
export function redactValue(key: string, value: unknown): unknown {
  if (isSecretKey(key)) return REDACTED;
  if (typeof value === 'string' && value.includes('://')) return redactUrl(value);
  return value;
}

/**
 * `text` with every occurrence of each of `secrets` replaced by {@link REDACTED}, for messages
 * that quote another party (a token server echoing the client secret in its error). Secrets
 * shorter than 4 characters are left alone: replacing them would garble the text, not protect.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}
