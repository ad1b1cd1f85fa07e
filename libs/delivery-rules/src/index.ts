export * from './address-policy';
export * from './outcome';
export * from './retry-schedule';
export * from './signing';
export * from './circuit-breaker';
export * from './fair-share';
export * from './payload-filter';
export * from './in-flight';
