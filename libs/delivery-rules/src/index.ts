export * from './address-policy';
export * from './outcome';
export * from './retry-schedule';
export * from './signing';
export * from './payload-filter';
