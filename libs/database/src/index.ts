export * from './prisma.service';
export * from './database.module';
export * from './migrator';
export * from './dependency-check';
export { Prisma } from './generated/prisma/client';
export * from './preflight';
export * from './database-errors';
