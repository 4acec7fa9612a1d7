import { expect } from 'chai';
import type { Key } from 'ink';
import { eachKey, keyPresses } from '../../../../console/ui/input.keys.js';

const NONE = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
} as Key;

describe('console keys: every key of an input chunk', () => {
  it('splits a chunk of plain characters into one key press each; Enter inside a chunk is Enter', () => {
    expect(keyPresses('kk', NONE).map((k) => k.input)).to.deep.equal(['k', 'k']);
    const yEnter = keyPresses('y\r', NONE);
    expect(yEnter.map((k) => [k.input, k.key.return])).to.deep.equal([
      ['y', false],
      ['\r', true],
    ]);
    expect(keyPresses('jK', NONE)[1]!.key.shift).to.equal(true);
  });

  it('passes a single key or a special key through unchanged', () => {
    const down = { ...NONE, downArrow: true };
    expect(keyPresses('', down)).to.deep.equal([{ input: '', key: down }]);
    expect(keyPresses('q', NONE)).to.deep.equal([{ input: 'q', key: NONE }]);
  });

  it('eachKey calls the handler once per key, in order', () => {
    const seen: string[] = [];
    eachKey((input) => seen.push(input))('jjk', NONE);
    expect(seen).to.deep.equal(['j', 'j', 'k']);
  });
});
