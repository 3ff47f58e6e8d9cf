/**
 * Strings that have a UTF-8 form. A JavaScript string is UTF-16 code units, and a lone surrogate (half of a pair,
 * such as '\ud800') has no UTF-8 encoding: TextEncoder and Buffer.write put U+FFFD (EF BF BD) in its place without a
 * word, so the string a program wrote would not be the one it reads back. memmap refuses such a string instead.
 */
import { invalidArgValue } from './errors.js';

/** The engine's String.prototype.isWellFormed (ES2024), bound at load; undefined on an engine without it. */
const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** The index of the first lone surrogate in `value`, or -1 when it has a UTF-8 form. */
function loneSurrogateAt(value: string): number {
  if (isWellFormed !== undefined && isWellFormed.call(value)) return -1;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = value.charCodeAt(i + 1); // NaN past the end
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff)
      i++; // a pair
    else return i;
  }
  return -1;
}

/** Throws ERR_INVALID_ARG_VALUE naming `name` when `value` holds a lone surrogate. */
export function checkWellFormed(value: string, name: string): void {
  const at = loneSurrogateAt(value);
  if (at !== -1)
    throw invalidArgValue(
      name,
      value,
      `must be well-formed UTF-16: the lone surrogate at index ${at} has no UTF-8 form (it would be stored as ` +
        'U+FFFD); complete the pair or remove it',
    );
}
