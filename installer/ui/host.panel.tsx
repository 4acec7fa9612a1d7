import { Box, Text } from 'ink';
import { formatBytes } from '../detect/size.js';
import type { HostFacts } from '../detect/host-facts.js';

/** Detected host: what the machine has next to what Carebox may use (cgroup limits applied). */
export function HostPanel({ facts }: { facts: HostFacts }) {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>Detected host</Text>
      <Text>
        CPUs host <Text bold>{facts.hostCpus.value}</Text>, usable{' '}
        <Text bold color="cyan">
          {facts.cpus.value}
        </Text>{' '}
        <Text dimColor>({facts.cpus.source})</Text>
      </Text>
      <Text>
        Memory host <Text bold>{formatBytes(facts.hostMemoryBytes.value)}</Text>, usable{' '}
        <Text bold color="cyan">
          {formatBytes(facts.memoryBytes.value)}
        </Text>{' '}
        <Text dimColor>({facts.memoryBytes.source})</Text>
      </Text>
      <Text>
        Docker {facts.docker.reachable ? `engine ${facts.docker.engineVersion}` : 'unreachable'}, Compose {facts.compose.version ?? 'missing'}
      </Text>
    </Box>
  );
}
