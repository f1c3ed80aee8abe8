import type { Handler } from './consumer-loop.ts';

export type FaultStage = 'rasterizer' | 'ocr' | 'assembler';

/**
 * Test-only fault injection (options.testFault="<stage>:<page>:<fault>"): the handler of that stage
 * kills its own process with SIGKILL ("exit") or never returns ("hang") on that page, on every
 * attempt. Lets tests prove that a page whose every attempt dies still ends with a code.
 */
export function withTestFault<T extends { page: number }>(stage: FaultStage, spec: string | undefined, handler: Handler<T>): Handler<T> {
  const [s, page, fault] = spec?.split(':') ?? [];
  if (s !== stage) return handler;
  return async (msg, ctx) => {
    if (msg.page === Number(page)) {
      if (fault === 'exit') process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    }
    return handler(msg, ctx);
  };
}
