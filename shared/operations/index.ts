/** Operations: stable error codes, logger, metrics, tracing, and the runtime every service starts from. */
export * from './errors.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './tracing.ts';
export * from './runtime.ts';
