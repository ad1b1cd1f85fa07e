import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';
import { NewEndpointSecretRow, notifyEndpointChanged } from '../endpoints/endpoints.repository';
import { newestFirst } from '../common/pagination';

/** One endpoint_secrets row, still encrypted. `expiresAt` null = the current secret. */
export interface EndpointSecretRecord {
  id: string;
  endpointId: string;
  keyVersion: number;
  ciphertext: Buffer;
  createdAt: Date;
  expiresAt: Date | null;
}

function toRecord(r: {
  id: string;
  endpointId: string;
  keyVersion: number;
  ciphertext: Uint8Array;
  createdAt: Date;
  expiresAt: Date | null;
}): EndpointSecretRecord {
  return {
    id: r.id,
    endpointId: r.endpointId,
    keyVersion: r.keyVersion,
    ciphertext: Buffer.from(r.ciphertext),
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
  };
}

@Injectable()
export class EndpointSecretsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The current secret of a live endpoint of the application; null when the endpoint is not found. */
  async findCurrent(applicationId: string, endpointId: string): Promise<EndpointSecretRecord | null> {
    const row = await this.prisma.endpointSecret.findFirst({
      where: { endpointId, expiresAt: null, endpoint: { applicationId, deletedAt: null } },
      orderBy: newestFirst(),
    });
    return row ? toRecord(row) : null;
  }

  /** Secrets that sign at `now`, whatever the application: the current one first, then unexpired rotated ones, newest first. */
  async findSigning(endpointId: string, now: Date): Promise<EndpointSecretRecord[]> {
    const rows = await this.prisma.endpointSecret.findMany({
      where: { endpointId, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      orderBy: newestFirst(),
    });
    const records = rows.map(toRecord);
    return [...records.filter((r) => r.expiresAt === null), ...records.filter((r) => r.expiresAt !== null)];
  }

  /** Every row of an endpoint (tests, operations). */
  async listAll(endpointId: string): Promise<EndpointSecretRecord[]> {
    const rows = await this.prisma.endpointSecret.findMany({
      where: { endpointId },
      orderBy: newestFirst(),
    });
    return rows.map(toRecord);
  }

  /**
   * Makes `next` the current secret of a live endpoint of the application: the previous current one expires at
   * `now + overlapSeconds`, rows already expired at `now` are deleted. Null when the endpoint is not found.
   */
  async rotate(
    applicationId: string,
    endpointId: string,
    next: NewEndpointSecretRow,
    overlapSeconds: number,
    now = new Date(),
  ): Promise<EndpointSecretRecord | null> {
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM endpoints
        WHERE id = ${endpointId} AND application_id = ${applicationId} AND deleted_at IS NULL
        FOR UPDATE`;
      if (locked.length === 0) return null;
      await tx.endpointSecret.updateMany({
        where: { endpointId, expiresAt: null },
        data: { expiresAt: new Date(now.getTime() + overlapSeconds * 1000) },
      });
      await tx.endpointSecret.deleteMany({ where: { endpointId, expiresAt: { lte: now } } });
      const row = await tx.endpointSecret.create({
        data: {
          id: next.id,
          endpointId,
          keyVersion: next.keyVersion,
          ciphertext: new Uint8Array(next.ciphertext),
          createdAt: now,
          expiresAt: null,
        },
      });
      await notifyEndpointChanged(tx, endpointId);
      return toRecord(row);
    });
  }
}
