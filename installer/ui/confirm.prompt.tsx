import { render, Box, Text } from 'ink';
import { ConfirmInput } from '@inkjs/ui';

/**
 * Ask a yes/no question on the TTY; resolves true on confirm. Defaults to "no" (Enter cancels),
 * because it guards destructive operations. Callers check for a TTY first.
 */
export function confirmPrompt(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = false;
    const app = render(
      <Box>
        {/* ConfirmInput prints the y/N hint itself: only the brackets are ours. */}
        <Text>{question} (</Text>
        <ConfirmInput
          defaultChoice="cancel"
          onConfirm={() => {
            answer = true;
            app.unmount();
          }}
          onCancel={() => {
            answer = false;
            app.unmount();
          }}
        />
        <Text>) </Text>
      </Box>,
    );
    void app.waitUntilExit().then(() => resolve(answer));
  });
}
