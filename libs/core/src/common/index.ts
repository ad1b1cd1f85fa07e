export * from './ids';
export * from './errors';
export * from './pagination';
export * from './principal';
export * from './with-timeout';
export * from './raw-json';
export * from './query-scope';
