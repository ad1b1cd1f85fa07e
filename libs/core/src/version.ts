/** Tern's version, sent as `user-agent: Tern/<version>`. version.spec.ts keeps it equal to package.json's. */
export const TERN_VERSION = '0.1.0';
