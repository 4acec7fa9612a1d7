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
        <Text>{question} (y/N) </Text>
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
      </Box>,
    );
    void app.waitUntilExit().then(() => resolve(answer));
  });
}
