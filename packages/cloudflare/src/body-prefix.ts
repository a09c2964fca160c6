/** A body read up to a limit: whole when it fits, else the chunks read so far followed by the rest, unread. */
export type Prefixed =
  | { complete: true; bytes: Uint8Array<ArrayBuffer> }
  | { complete: false; stream: ReadableStream<Uint8Array> };

function concat(chunks: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Reads at most about `maxBytes` of a stream (one chunk more at worst). A body that fits comes back whole;
 * a larger one as a stream that replays what was read and then pulls the rest on demand, so a huge or
 * endless body costs no more memory than the limit.
 */
export async function readUpTo(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Prefixed> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { complete: true, bytes: concat(chunks, size) };
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) break;
  }
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { complete: false, stream };
}
