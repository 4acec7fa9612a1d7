import { useRef, useState, useSyncExternalStore } from 'react';
import { Box, Text, useInput } from 'ink';
import { truncate } from './dashboard.model.js';
import { eachKey } from './input.keys.js';
import type { PromptRequest, PromptStore } from './prompt.store.js';

function Details({ lines, width, max }: { lines: string[]; width: number; max: number }) {
  const shown = lines.slice(0, max);
  return (
    <>
      {shown.map((l, i) => (
        <Text key={i} dimColor wrap="truncate-end">
          {truncate(l, width)}
        </Text>
      ))}
      {lines.length > shown.length ? (
        <Text dimColor>{truncate(`… ${lines.length - shown.length} more lines (\`carebox retier --dry-run\` shows all)`, width)}</Text>
      ) : null}
    </>
  );
}

function ConfirmQuestion({
  req,
  store,
  width,
  maxLines,
}: {
  req: Extract<PromptRequest, { kind: 'confirm' }>;
  store: PromptStore;
  width: number;
  maxLines: number;
}) {
  // Keys handled here rather than by @inkjs/ui's ConfirmInput: it prints its own `Y/n`, which
  // doubled the hint, and it reads only the first key of a chunk (`y` + Enter in one write).
  useInput(
    eachKey((input, key) => {
      if (key.escape) return store.cancel();
      if (input.toLowerCase() === 'y') return store.answer(req.id, true);
      if (input.toLowerCase() === 'n') return store.answer(req.id, false);
      if (key.return) store.answer(req.id, req.defaultYes);
    }),
  );
  const suffix = req.defaultYes ? ' (Y/n) ' : ' (y/N) ';
  return (
    <Box flexDirection="column">
      <Details lines={req.details} width={width} max={Math.max(0, maxLines - 1)} />
      <Box>
        <Text bold wrap="truncate-end">
          {truncate(req.question, Math.max(10, width - suffix.length - 2))}
          {suffix}
        </Text>
      </Box>
    </Box>
  );
}

function NumberQuestion({ req, store, width }: { req: Extract<PromptRequest, { kind: 'number' }>; store: PromptStore; width: number }) {
  // The ref holds the latest value so keys typed faster than a frame (or Enter right after an
  // arrow) act on it, not on this render's copy.
  const value = useRef(req.initial);
  const typed = useRef('');
  const [, redraw] = useState(0);
  const set = (n: number) => {
    value.current = Math.min(req.max, Math.max(req.min, n));
    redraw((x) => x + 1);
  };
  useInput(
    eachKey((input, key) => {
      if (key.escape) return store.cancel();
      if (key.return) return store.answer(req.id, value.current);
      if (key.leftArrow || key.downArrow || input === '-') {
        typed.current = '';
        return set(value.current - 1);
      }
      if (key.rightArrow || key.upArrow || input === '+') {
        typed.current = '';
        return set(value.current + 1);
      }
      if (/^\d$/.test(input)) {
        typed.current = Number(typed.current + input) <= req.max ? typed.current + input : input;
        set(Number(typed.current));
      }
    }),
  );
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>{truncate(req.question, Math.max(10, width - 14))}: </Text>
        <Text color="cyan">◀ {value.current} ▶</Text>
      </Text>
      <Text dimColor wrap="truncate-end">
        {truncate(`←/→ or digits (${req.min}–${req.max}) · Enter continue · Esc cancel`, width)}
      </Text>
    </Box>
  );
}

function ChooseQuestion({ req, store, width }: { req: Extract<PromptRequest, { kind: 'choose' }>; store: PromptStore; width: number }) {
  const start = Math.max(
    0,
    req.options.findIndex((o) => o.value === req.initial),
  );
  const cursorRef = useRef(start);
  const [cursor, setCursor] = useState(start);
  const moveTo = (i: number) => {
    cursorRef.current = (i + req.options.length) % req.options.length;
    setCursor(cursorRef.current);
  };
  useInput(
    eachKey((input, key) => {
      if (key.escape) return store.cancel();
      if (key.return) return store.answer(req.id, req.options[cursorRef.current]!.value);
      if (key.upArrow || input === 'k') moveTo(cursorRef.current - 1);
      if (key.downArrow || input === 'j') moveTo(cursorRef.current + 1);
    }),
  );
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {truncate(req.question, width)}
      </Text>
      {req.options.map((o, i) => (
        <Text key={o.value} color={i === cursor ? 'cyan' : undefined} wrap="truncate-end">
          {truncate(`${i === cursor ? '❯' : ' '} ${o.label}`, width)}
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">
        {truncate('↑/↓ choose · Enter continue · Esc cancel', width)}
      </Text>
    </Box>
  );
}

/**
 * Renders the {@link PromptStore}'s open question (confirm, number or choice) and settles it from
 * the keyboard; renders nothing when no question is open.
 */
export function PromptView({ store, width, maxLines = 10 }: { store: PromptStore; width: number; maxLines?: number }) {
  const req = useSyncExternalStore(store.subscribe, store.getSnapshot);
  if (!req) return null;
  // key={id}: a new question gets fresh input state.
  if (req.kind === 'confirm') return <ConfirmQuestion key={req.id} req={req} store={store} width={width} maxLines={maxLines} />;
  if (req.kind === 'number') return <NumberQuestion key={req.id} req={req} store={store} width={width} />;
  return <ChooseQuestion key={req.id} req={req} store={store} width={width} />;
}
