import { useEffect, useState, useSyncExternalStore } from 'react';
import { Box, Text, useApp } from 'ink';
import { ConfirmInput } from '@inkjs/ui';
import { CareboxError, ExitCode } from '../errors.js';
import type { InstallPreparation } from '../apply/install.apply.js';
import { preflightPassed } from '../preflight/preflight.checks.js';
import { HostPanel } from './host.panel.js';
import { PreflightPanel } from './preflight.panel.js';
import { StepsView } from './steps.view.js';
import type { StepStore } from './step.store.js';
import { TierPanel } from './tier.panel.js';

/** Outcome of running the install steps. */
export interface InstallOutcome {
  url: string | null;
  summary: string;
  /** Extra lines for the summary box (the first admin's one-time password, once). */
  details?: string[];
}

export interface InstallAppProps {
  prep: InstallPreparation;
  /** Skip the confirmation (--yes on a TTY). */
  autoConfirm: boolean;
  store: StepStore;
  /** Runs the install steps, reporting to `store`. Injected so component tests run real, small step lists. */
  execute: (store: StepStore) => Promise<InstallOutcome>;
  /** Called once with the exit code when the app is done. */
  onExit: (code: number) => void;
}

type Phase = 'review' | 'running' | 'done' | 'cancelled' | 'failed';

/**
 * The interactive install: detected host → chosen tier with reasons → preflight → confirmation →
 * live progress → summary with the URL. Only mounted on a TTY.
 */
export function InstallApp({ prep, autoConfirm, store, execute, onExit }: InstallAppProps) {
  const { exit } = useApp();
  const steps = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const checksOk = preflightPassed(prep.options.renderOnly ? prep.preflight.filter((c) => c.id === 'tier-resources') : prep.preflight) && prep.plan !== null;
  const [phase, setPhase] = useState<Phase>(!checksOk ? 'failed' : autoConfirm ? 'running' : 'review');
  const [outcome, setOutcome] = useState<InstallOutcome | null>(null);
  const [error, setError] = useState<CareboxError | Error | null>(null);

  useEffect(() => {
    if (phase !== 'running') return;
    let live = true;
    execute(store).then(
      (o) => {
        if (!live) return;
        setOutcome(o);
        setPhase('done');
      },
      (err: unknown) => {
        if (!live) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setPhase('failed');
      },
    );
    return () => {
      live = false;
    };
  }, [phase]);

  useEffect(() => {
    if (phase === 'review' || phase === 'running') return;
    onExit(finishedExitCode(phase, checksOk, error));
    // Let Ink paint the final frame before unmounting.
    const t = setTimeout(() => exit(), 20);
    return () => clearTimeout(t);
  }, [phase]);

  const header = (
    <>
      <HostPanel facts={prep.facts} />
      {prep.plan ? <TierPanel plan={prep.plan} /> : <Text color="red">{prep.planError?.message}</Text>}
    </>
  );
  const reviewing = phase === 'review' || !checksOk;
  return (
    <Box flexDirection="column">
      {reviewing ? header : null}
      {reviewing ? <PreflightPanel results={prep.preflight} /> : null}
      {phase === 'review' ? <InstallQuestion prep={prep} onConfirm={() => setPhase('running')} onCancel={() => setPhase('cancelled')} /> : null}
      <StepsView steps={steps} header={reviewing ? undefined : header} />
      {phase === 'done' && outcome ? <InstallSummary outcome={outcome} /> : null}
      {phase === 'cancelled' ? <Text>Cancelled: nothing was changed.</Text> : null}
      {phase === 'failed' ? <InstallFailure checksOk={checksOk} error={error} /> : null}
    </Box>
  );
}

/** The exit code of a finished install: 0 done, 3 preflight failed, the error's own code, else 1. Pure. */
function finishedExitCode(phase: Exclude<Phase, 'review' | 'running'>, checksOk: boolean, error: CareboxError | Error | null): number {
  if (phase === 'done') return ExitCode.Ok;
  if (phase === 'cancelled') return ExitCode.Failed;
  if (!checksOk) return ExitCode.Preflight;
  return error instanceof CareboxError ? error.exitCode : ExitCode.Failed;
}

/** The confirmation: tier, install root and the published port, then Y/n. */
function InstallQuestion({ prep, onConfirm, onCancel }: { prep: InstallPreparation; onConfirm: () => void; onCancel: () => void }) {
  return (
    <Box>
      <Text>
        Install tier <Text bold>{prep.plan?.tier}</Text> into {prep.root} and publish{' '}
        {prep.tls ? `HTTPS on port ${prep.tls.httpsPort}` : `port ${prep.httpPort}`}? (
      </Text>
      {/* ConfirmInput prints the Y/n hint itself: only the brackets are ours. */}
      <ConfirmInput onConfirm={onConfirm} onCancel={onCancel} />
      <Text>) </Text>
    </Box>
  );
}

/** The summary box of a finished install: its summary, the URL and the extra lines. */
function InstallSummary({ outcome }: { outcome: InstallOutcome }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="green" paddingX={1}>
      <Text color="green" bold>
        {outcome.summary}
      </Text>
      {outcome.url ? <Text>Open {outcome.url} — `carebox status` shows the stack.</Text> : null}
      {(outcome.details ?? []).map((l, i) => (
        <Text key={i}>{l}</Text>
      ))}
    </Box>
  );
}

/** Why the install failed (preflight, or the error with its hint). */
function InstallFailure({ checksOk, error }: { checksOk: boolean; error: CareboxError | Error | null }) {
  return (
    <Box flexDirection="column">
      <Text color="red">{!checksOk ? 'Preflight failed: this host cannot run the chosen tier as it is.' : error?.message}</Text>
      {error instanceof CareboxError && error.hint ? <Text color="yellow">hint: {error.hint}</Text> : null}
    </Box>
  );
}
