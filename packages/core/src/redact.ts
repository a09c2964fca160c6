/** JWTs (assertions, bearers) IBKR might echo even when this instance never saw them whole. */
const JWT_LIKE = /eyJ[\w-]{6,}\.[\w-]{6,}\.[\w-]*/g;
/** Shorter values are too likely to be ordinary words for their removal to be safe or useful. */
const MIN_SECRET_LENGTH = 4;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The secrets one IBAuth knows (client id, credential, tokens, assertions), removed from any text IBKR
 * sends back before it becomes an error message, a log line or a stored status. Matching ignores letter
 * case: IBKR echoes usernames in its own case, and a token that matches caselessly is still that token.
 */
export class Redactor {
  readonly #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  add(secret: string): void {
    const value = secret.trim();
    if (value.length < MIN_SECRET_LENGTH || this.#secrets.has(value)) return;
    this.#secrets.add(value);
    this.#pattern = undefined;
  }

  redact(text: string): string {
    if (this.#secrets.size > 0) {
      // Longest first, so a secret that contains another is removed whole.
      this.#pattern ??= new RegExp(
        [...this.#secrets]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join("|"),
        "gi",
      );
      text = text.replace(this.#pattern, "[redacted]");
    }
    return text.replace(JWT_LIKE, "[redacted]");
  }
}
