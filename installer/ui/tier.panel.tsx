import { Box, Text } from 'ink';
import type { Plan } from '../plan/plan.types.js';
import { formatSizing } from '../plan/plan.format.js';

/** The chosen tier, why, and what it sizes. */
export function TierPanel({ plan }: { plan: Plan }) {
  const [low, high] = plan.capacity.concurrentUsers;
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text>
        Tier <Text bold color="green">{plan.tier}</Text> — about {low}–{high} concurrent users
      </Text>
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
