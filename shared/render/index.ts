/** Rendering, host side: pdf.js and image decoding run in sandboxed child processes (pools, the upload probe). The child side (pdfjs.ts, source-probe.ts, bmp.ts, child.ts) is imported directly by the child entry points only, so no service's own event loop loads pdf.js. */
export * from './probe.ts';
export * from './pool.ts';
export * from './host.ts';
export * from './protocol.ts';
