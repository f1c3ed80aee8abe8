/** Types of client/sse.js (plain JavaScript: ingest serves it to the viewer page as it is). */

/** Calls onStatus with the data of each `status` event, parsed, until onStatus answers true or the stream ends; resolves with the status it ended on, or undefined. */
export declare function readStatusEvents<T>(body: ReadableStream<Uint8Array>, onStatus: (status: T) => unknown): Promise<T | undefined>;
