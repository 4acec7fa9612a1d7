import { Box, Text } from 'ink';
import type { Plan } from '../plan/plan.types.js';
import { formatSizing } from '../plan/plan.format.js';
import { planProfile } from '../plan/capacity.estimate.js';
import { staffUnit } from '../plan/workload.profile.js';

/** The chosen tier, why, and what it sizes. */
export function TierPanel({ plan }: { plan: Plan }) {
  const [low, high] = plan.capacity.concurrentUsers;
  const c = plan.capacity;
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text>
        Tier{' '}
        <Text bold color="green">
          {plan.tier}
        </Text>{' '}
        — about {low}–{high} {c.unit ?? staffUnit(planProfile(plan))}
      </Text>
      {c.requestsPerSecond ? (
        <Text dimColor wrap="wrap">
          {'  '}
          {c.requestsPerSecond[0]}–{c.requestsPerSecond[1]} req/s sustained at p95 ≤ 200 ms ({c.bottleneck} binds); by Little's law with R {c.responseTimeS} s
          and Z {c.thinkTimeS} s
        </Text>
      ) : null}
      {plan.reasons.map((r, i) => (
        <Text key={i} wrap="wrap">
          {'  • '}
          {r}
        </Text>
      ))}
      {formatSizing(plan).map((l, i) => (
        <Text key={`s${i}`} dimColor wrap="truncate-end">
          {'  '}
          {l}
        </Text>
      ))}
      {plan.shortfall ? <Text color="yellow">{plan.shortfall.message}</Text> : null}
    </Box>
  );
}
