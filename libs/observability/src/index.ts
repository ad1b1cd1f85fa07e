export * from './logger';
export * from './metrics';
export * from './ready-signal';
