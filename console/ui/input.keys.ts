/**
 * Every key of an input chunk. Ink calls a `useInput` handler once per escape sequence (arrows
 * arrive split), but hands a run of plain characters over as one string: `kk` from a fast typist,
 * or several keys that arrive in one read over ssh. Handlers that compare `input === 'k'` would
 * drop them all; wrapped with {@link eachKey} they see each key in turn.
 */
import type { Key } from 'ink';

/** One key press: the character and Ink's key flags. */
export interface KeyPress {
  input: string;
  key: Key;
}

/**
 * The key presses in what Ink handed a handler. A chunk of several characters becomes one press
 * per character (code point); `\r` and `\n` in it are Enter. A single key or a special key
 * (arrow, Esc) is passed through as it is. Pure.
 */
export function keyPresses(input: string, key: Key): KeyPress[] {
  const chars = Array.from(input);
  if (chars.length <= 1) return [{ input, key }];
  return chars.map((c) => ({ input: c, key: { ...key, return: c === '\r' || c === '\n', shift: /^[A-Z]$/.test(c) } }));
}

/** A `useInput` handler that runs `handler` for each key of the chunk, in order. */
export function eachKey(handler: (input: string, key: Key) => void): (input: string, key: Key) => void {
  return (input, key) => {
    for (const k of keyPresses(input, key)) handler(k.input, k.key);
  };
}
