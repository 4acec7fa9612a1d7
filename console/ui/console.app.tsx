import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { StepStore } from '../../installer/ui/step.store.js';
import type { Tier } from '../../installer/plan/plan.types.js';
import { ACTION_KEYS, actionAvailable, runKeyAction, type ActionKind, type ActionOutcome } from './action.flow.js';
import { ActionProgress } from './action.progress.js';
import type { ConsoleActions } from './console.actions.js';
import type { DashboardData } from './dashboard.feed.js';
import {
  alertLines,
  headerLine,
  lineText,
  metricsPanelLines,
  serviceRows,
  serviceTableLines,
  truncate,
  type Line,
  type ServiceRow,
} from './dashboard.model.js';
import { LineView } from './line.view.js';
import { LogsView } from './logs.view.js';
import { MetricsPanel } from './metrics.panel.js';
import { PromptStore } from './prompt.store.js';
import { PromptView } from './prompt.view.js';
import { ServiceTable } from './service.table.js';
import { eachKey } from './input.keys.js';
import wrapAnsi from 'wrap-ansi';

/** Most rows an action's result may take (message, first detail, hint, each wrapped). */
const MAX_RESULT_ROWS = 6;

/**
 * `text` wrapped to `width` columns at word boundaries (a word longer than a line is cut): the
 * first line starts with `lead`, the others with `indent`. Plain text (no ANSI codes). Pure.
 */
export function wrapToWidth(text: string, width: number, lead = '', indent = '  '): string[] {
  const opts = { hard: true, trim: true } as const;
  const plain = text.trim();
  const first = wrapAnsi(plain, Math.max(1, width - lead.length), opts).split('\n')[0] ?? '';
  const remainder = plain.slice(first.length).trim();
  if (!remainder) return [lead + first];
  return [
    lead + first,
    ...wrapAnsi(remainder, Math.max(1, width - indent.length), opts)
      .split('\n')
      .map((l) => indent + l),
  ];
}

/** The result lines of an action (message, first detail, hint), wrapped to `width`, at most `max` rows. Pure. */
export function resultLines(flash: ActionOutcome, width: number, max = MAX_RESULT_ROWS): { text: string; color: string }[] {
  const head = { color: flash.status === 'done' ? 'green' : flash.status === 'failed' ? 'red' : 'yellow' };
  const out = wrapToWidth(`${flash.status === 'done' ? '✓' : flash.status === 'failed' ? '✗' : '·'} ${flash.message}`, width, '', '  ').map((text) => ({
    text,
    ...head,
  }));
  if (flash.details[0])
    out.push(
      ...wrapToWidth(`${flash.details[0]}${flash.details.length > 1 ? ` (+${flash.details.length - 1} more)` : ''}`, width, '  ', '    ').map((text) => ({
        text,
        color: 'red',
      })),
    );
  if (flash.hint) out.push(...wrapToWidth(`hint: ${flash.hint}`, width, '  ', '    ').map((text) => ({ text, color: 'yellow' })));
  if (out.length <= max) return out;
  // Too long for the screen: keep the hint's first line (what to do next) in the last row.
  const hint = out.find((l) => l.text.startsWith('  hint: '));
  const kept = out.slice(0, hint && out.indexOf(hint) >= max - 1 ? max - 1 : max);
  if (hint && !kept.includes(hint)) kept.push(hint);
  return kept;
}

/** What the app reads its data from: the {@link DashboardFeed} (or any store with its shape). */
export interface DashboardStore {
  subscribe(fn: () => void): () => void;
  getSnapshot(): DashboardData;
  /** Ask for a refresh now (after an action, so its effect shows at once). */
  refresh(): Promise<unknown>;
}

/** Props of {@link ConsoleApp}. */
export interface ConsoleAppProps {
  feed: DashboardStore;
  actions: ConsoleActions;
  /** Called once with the exit code when the operator quits. */
  onExit: (code: number) => void;
  /** Terminal size; default the stdout's (and its resize events), else 80×24. */
  size?: { columns: number; rows: number };
  /** Log lines the `l` key shows (default 200). */
  logTail?: number;
  /** How often the logs view re-reads the logs, ms (default 2000). */
  logsRefreshMs?: number;
}

const ACTION_TITLES: Record<ActionKind, string> = { scale: 'Scale', restart: 'Restart', logs: 'Logs', retier: 'Re-tier' };

function useTerminalSize(fixed?: { columns: number; rows: number }): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout?.columns || 80, rows: stdout?.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed || !stdout) return;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed]);
  return fixed ?? size;
}

/** What one frame of the dashboard shows; compared as text so unchanged data renders nothing new. */
interface DashboardView {
  data: DashboardData;
  rows: ServiceRow[];
  header: Line;
  /** Firing alerts, shown above everything else. */
  alerts: Line[];
  /** Rendered lines of the table and the metrics panel: the equality key. */
  key: string;
}

/**
 * Subscribe to the feed but re-render only when what would be drawn changes (uptime ticking
 * inside the same minute, or an identical refresh, draws nothing new).
 */
function useDashboardView(feed: DashboardStore, width: number, selected: number, maxQueues: number): DashboardView {
  const cache = useRef<{ data: DashboardData; deps: string; view: DashboardView } | null>(null);
  const deps = `${width}/${selected}/${maxQueues}`;
  const getView = useCallback((): DashboardView => {
    const data = feed.getSnapshot();
    const c = cache.current;
    if (c && c.data === data && c.deps === deps) return c.view;
    const rows = data.status ? serviceRows(data.status) : [];
    const header = headerLine(data.status, data.statusError, width);
    const alerts = alertLines(data.alerts, data.alertsError, width);
    const table = serviceTableLines(rows, selected, width, data.history.cpuByService);
    const metrics = metricsPanelLines(data, width, maxQueues);
    const footer = `${data.metrics?.scraped}/${data.metrics?.targets}/${data.refreshes === 0}`;
    const key = [...alerts, header, ...table, ...metrics].map(lineText).join('\n') + footer;
    // Same text as the last frame: keep the previous object so React bails out of the render.
    const view = c && c.deps === deps && c.view.key === key ? c.view : { data, rows, header, alerts, key };
    cache.current = { data, deps, view };
    return view;
  }, [feed, deps]);
  return useSyncExternalStore(feed.subscribe, getView);
}

type Mode =
  | { name: 'dashboard' }
  | { name: 'action'; kind: ActionKind; store: StepStore; target: string }
  | { name: 'logs'; service: string; lines: string[]; at: string };

/**
 * The `carebox console` dashboard: header, per-service table and backend metrics with sparklines
 * in one live region sized to the terminal; keys s/r/l/t act on the selected service (each asks
 * first, then shows progress), ↑/↓ or j/k select, q quits. Only mounted on a TTY.
 */
export function ConsoleApp({ feed, actions, onExit, size, logTail = 200, logsRefreshMs = 2000 }: ConsoleAppProps) {
  const { exit } = useApp();
  const { columns, rows: termRows } = useTerminalSize(size);
  // One column spare: a line that fills the last column makes some terminals wrap over ssh.
  const width = Math.max(20, columns - 1);
  const selection = useSelection(feed);
  const { mode, setMode, modeRef, enter } = useMode();
  const [flash, setFlash] = useState<ActionOutcome | null>(null);
  const prompts = useMemo(() => new PromptStore(), []);
  const live = useRef(true);
  useEffect(
    () => () => {
      live.current = false;
      prompts.cancel();
    },
    [prompts],
  );

  const names = (feed.getSnapshot().status?.services ?? []).map((s) => s.service);
  const selected = Math.max(0, selection.name === null ? 0 : names.indexOf(selection.name));
  // A refusal's reason is wrapped, not cut: it is what the operator has to read.
  const result = flash ? resultLines(flash, width) : null;
  const alertRows = alertLines(feed.getSnapshot().alerts, feed.getSnapshot().alertsError, width).length;
  const { panelRows, maxQueues } = panelBudget(termRows, names.length, result ? result.length : 1, alertRows);
  const view = useDashboardView(feed, width, selected, maxQueues);
  const data = view.data;
  const question = useSyncExternalStore(prompts.subscribe, prompts.getSnapshot);

  const quit = () => {
    onExit(0);
    exit();
  };
  const { busy, start } = useActionStarter({ feed, actions, prompts, logTail, live, selection, enter, setFlash });
  useDashboardKeys({ busy, modeRef, quit, move: selection.move, start, enter, setFlash });
  useLogsRefresh(mode.name === 'logs' ? mode.service : null, { actions, logTail, logsRefreshMs, live, setMode });

  if (mode.name === 'logs') {
    return (
      <Box flexDirection="column">
        <LineView line={view.header} />
        <LogsView service={mode.service} lines={mode.lines} width={width} height={termRows - 2} refreshedAt={mode.at} />
      </Box>
    );
  }

  return (
    <Box flexDirection="column">
      {view.alerts.map((l, i) => (
        <LineView key={`alert-${i}`} line={l} />
      ))}
      <LineView line={view.header} />
      <ServiceTable rows={view.rows} selected={selected} width={width} cpuHistory={data.history.cpuByService} />
      <Text> </Text>
      {mode.name === 'action' ? (
        <Box flexDirection="column" height={panelRows} overflow="hidden">
          <PromptView store={prompts} width={width} maxLines={panelRows - 2} />
          {question === null ? (
            <ActionProgress store={mode.store} title={`${ACTION_TITLES[mode.kind]} ${mode.target}`.trim()} width={width} maxLines={panelRows} />
          ) : null}
        </Box>
      ) : (
        <MetricsPanel data={data} width={width} maxQueues={maxQueues} />
      )}
      <StatusLines result={result} data={data} width={width} />
      <KeyHelp actions={actions} working={mode.name === 'action'} width={width} />
    </Box>
  );
}

/**
 * Height budget: header 1 + table (1 + services) + gap 1 + panel + result (1 status line, or a
 * result's message, detail and hint) + keys 1, and one spare row so Ink never has to clear the
 * screen (which flickers). The panel holds at most 8 fixed lines (title, five figures,
 * "more queues", a scrape error) plus the queue lines. Pure.
 */
function panelBudget(termRows: number, services: number, resultRows: number, alertRows: number): { panelRows: number; maxQueues: number } {
  const panelRows = Math.max(4, termRows - services - 5 - resultRows - alertRows);
  return { panelRows, maxQueues: Math.max(0, panelRows - 8) };
}

/**
 * Starting an action on the selected service: one at a time, even when a second key arrives
 * before the frame that disables the keys (`busy`). The action asks, then shows its progress;
 * its outcome shows on the dashboard, or its lines in the logs view.
 */
function useActionStarter(o: {
  feed: DashboardStore;
  actions: ConsoleActions;
  prompts: PromptStore;
  logTail: number;
  live: { current: boolean };
  selection: { currentIndex: () => number };
  enter: (m: Mode) => void;
  setFlash: (f: ActionOutcome | null) => void;
}) {
  const { feed, actions, prompts, logTail, live, selection, enter, setFlash } = o;
  const busy = useRef(false);
  const start = (kind: ActionKind) => {
    if (busy.current) return;
    busy.current = true;
    const snapshot = feed.getSnapshot();
    const service = snapshot.status?.services[selection.currentIndex()] ?? null;
    const store = new StepStore();
    setFlash(null);
    enter({ name: 'action', kind, store, target: kind === 'retier' ? '' : (service?.service ?? '') });
    void runKeyAction(kind, { service, tier: (snapshot.status?.tier ?? 'default') as Tier, actions, prompter: prompts, reporter: store, logTail }).then((r) => {
      busy.current = false;
      if (!live.current) return;
      if (r.logs) enter({ name: 'logs', service: r.logs.service, lines: r.logs.lines, at: new Date().toLocaleTimeString() });
      else {
        enter({ name: 'dashboard' });
        setFlash(r);
      }
      if (r.status === 'done' && r.kind !== 'logs') void feed.refresh();
    });
  };
  return { busy, start };
}

/**
 * The keys of the dashboard and of the logs view. eachKey: keys that arrive in one write (`kk`, or
 * over ssh) each count. Both handlers stay subscribed and check modeRef, so no key falls between a
 * mode change and its render.
 */
function useDashboardKeys(o: {
  busy: { current: boolean };
  modeRef: { current: Mode['name'] };
  quit: () => void;
  move: (delta: number) => void;
  start: (kind: ActionKind) => void;
  enter: (m: Mode) => void;
  setFlash: (f: ActionOutcome | null) => void;
}): void {
  const { busy, modeRef, quit, move, start, enter, setFlash } = o;
  useInput(
    eachKey((input, key) => {
      if (busy.current || modeRef.current !== 'dashboard') return;
      if (input === 'q') return quit();
      if (key.upArrow || input === 'k') return move(-1);
      if (key.downArrow || input === 'j') return move(1);
      const kind = ACTION_KEYS[input];
      if (kind) start(kind);
    }),
  );
  useInput(
    eachKey((input, key) => {
      if (modeRef.current !== 'logs') return;
      if (input === 'q' || input === 'l' || key.escape) {
        enter({ name: 'dashboard' });
        setFlash(null);
      }
    }),
  );
}

/**
 * The mode the dashboard is in, and the mode keys act on: set at once by `enter`, not at the next
 * render. After a question is cancelled the re-render can come later than the next keys (a busy
 * host, a fast typist); keys in between must reach the dashboard, not vanish with a handler that
 * is no longer active.
 */
function useMode() {
  const [mode, setMode] = useState<Mode>({ name: 'dashboard' });
  const modeRef = useRef<Mode['name']>('dashboard');
  const enter = (m: Mode) => {
    modeRef.current = m.name;
    setMode(m);
  };
  return { mode, setMode, modeRef, enter };
}

/**
 * The selected service, by name. Keys act on the latest selection, not this render's: keys typed
 * faster than a frame all count.
 */
function useSelection(feed: DashboardStore) {
  const [name, setName] = useState<string | null>(null);
  const selectedRef = useRef<string | null>(null);
  const currentNames = () => (feed.getSnapshot().status?.services ?? []).map((s) => s.service);
  const currentIndex = () => {
    const now = currentNames();
    return Math.max(0, selectedRef.current === null ? 0 : now.indexOf(selectedRef.current));
  };
  const move = (delta: number) => {
    const now = currentNames();
    selectedRef.current = now[Math.min(now.length - 1, Math.max(0, currentIndex() + delta))] ?? null;
    setName(selectedRef.current);
  };
  return { name, currentIndex, move };
}

/** While the logs view of `logsService` is open, re-read the tail every few seconds (a poor man's --follow). */
function useLogsRefresh(
  logsService: string | null,
  o: {
    actions: ConsoleActions;
    logTail: number;
    logsRefreshMs: number;
    live: { current: boolean };
    setMode: (update: (m: Mode) => Mode) => void;
  },
): void {
  const { actions, logTail, logsRefreshMs, live, setMode } = o;
  useEffect(() => {
    if (!logsService || !actions.logs) return;
    const t = setInterval(() => {
      actions.logs!(logsService, logTail).then(
        (lines) => live.current && setMode((m) => (m.name === 'logs' && m.service === logsService ? { ...m, lines, at: new Date().toLocaleTimeString() } : m)),
        () => undefined,
      );
    }, logsRefreshMs);
    return () => clearInterval(t);
  }, [logsService]);
}

/** The last action's result lines, or the refresh status line. */
function StatusLines({ result, data, width }: { result: { text: string; color: string }[] | null; data: DashboardData; width: number }) {
  if (result) {
    return (
      <>
        {result.map((l, i) => (
          <Text key={i} wrap="truncate-end" color={l.color}>
            {l.text || ' '}
          </Text>
        ))}
      </>
    );
  }
  const scraped = data.metrics ? ` · /metrics ${data.metrics.scraped}/${data.metrics.targets} backends` : '';
  return (
    <Text dimColor wrap="truncate-end">
      {truncate(`refresh every ${data.intervalS} s${scraped}${data.refreshes === 0 ? ' · reading…' : ''}`, width)}
    </Text>
  );
}

/** The key line: the action keys (dimmed where not available) and navigation, or "working…" during an action. */
function KeyHelp({ actions, working, width }: { actions: ConsoleActions; working: boolean; width: number }) {
  const keyHelp = (['s', 'r', 'l', 't'] as const).map((k) => {
    const kind = ACTION_KEYS[k]!;
    return { text: `${k} ${kind === 'retier' ? 're-tier' : kind}`, on: actionAvailable(actions, kind) };
  });
  return (
    <Text wrap="truncate-end">
      {working ? (
        <Text dimColor>{truncate('working… (Esc cancels a question; a running operation finishes first)', width)}</Text>
      ) : (
        <>
          {keyHelp.map((k) => (
            <Text key={k.text} dimColor={!k.on}>
              {k.text}
              {k.on ? '' : ' (n/a)'}
              {' · '}
            </Text>
          ))}
          <Text>↑↓/jk select · q quit</Text>
        </>
      )}
    </Text>
  );
}
