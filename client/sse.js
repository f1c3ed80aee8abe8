/**
 * Server-Sent Events read from a fetch body: the one parser shared by the client package
 * (client/index.ts) and the viewer page (services/ingest/public/index.html), which loads this file
 * from GET /client/sse.js. Plain JavaScript without imports, so ingest serves it as it is, with no
 * build step; its types are in sse.d.ts. Read over fetch because EventSource cannot send the
 * Authorization header.
 */

/**
 * Calls onStatus with the data of each `status` event, parsed, until onStatus answers true (the
 * stream is then cancelled) or the stream ends. Resolves with the status onStatus ended on, or
 * undefined when the stream ended first.
 * @param {ReadableStream<Uint8Array>} body
 * @param {(status: any) => unknown} onStatus
 * @returns {Promise<any>}
 */
export async function readStatusEvents(body, onStatus) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return undefined;
    buf += value;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (!frame.includes('event: status') || !data) continue;
      const status = JSON.parse(data);
      if (await onStatus(status)) {
        await reader.cancel().catch(() => {});
        return status;
      }
    }
  }
}
