/** Configuration: the environment parsed once into typed, camelCase options per component. The only module that knows environment names. */
export * from './load.ts';
export * from './exposure.ts';
export * from './api-keys.ts';
export * from './nats-auth.ts';
export * from './cidr.ts';
