import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';

/** What opening a portal link found: the application's name and session epoch, or why it can't be opened. */
export type LinkUse = { epoch: number; applicationName: string } | { refused: 'used' | 'application_gone' };

/**
 * Portal link uses (single-use links) and the per-application portal session epoch (a portal session is valid
 * only under the epoch it started with).
 */
@Injectable()
export class PortalSessionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records that the link with `nonce` was opened — once: a second open of the same link is refused. Uses past
   * their link's expiry are purged on the way (an expired link is refused by its signature check anyway).
   */
  async useLink(nonce: string, applicationId: string, linkExpiresAt: Date): Promise<LinkUse> {
    const rows = await this.prisma.$queryRaw<{ epoch: number; name: string; fresh: boolean }[]>`
      WITH purge AS (
        DELETE FROM portal_link_uses WHERE expires_at < now()
      ), ins AS (
        INSERT INTO portal_link_uses (nonce, application_id, expires_at)
        SELECT ${nonce}, a.id, ${linkExpiresAt}::timestamptz FROM applications a WHERE a.id = ${applicationId}
        ON CONFLICT (nonce) DO NOTHING
        RETURNING nonce
      )
      SELECT a.portal_session_epoch AS epoch, a.name, EXISTS (SELECT 1 FROM ins) AS fresh
      FROM applications a WHERE a.id = ${applicationId}`;
    const [r] = rows;
    if (!r) return { refused: 'application_gone' };
    return r.fresh ? { epoch: r.epoch, applicationName: r.name } : { refused: 'used' };
  }

  /** The application's current portal session epoch; null when the application is gone. */
  async epoch(applicationId: string): Promise<number | null> {
    const rows = await this.prisma.$queryRaw<{ epoch: number }[]>`
      SELECT portal_session_epoch AS epoch FROM applications WHERE id = ${applicationId}`;
    return rows[0]?.epoch ?? null;
  }

  /** Ends every portal session of the application (bumps its epoch). False when the application is gone. */
  async endSessions(applicationId: string): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
      UPDATE applications SET portal_session_epoch = portal_session_epoch + 1, updated_at = now()
      WHERE id = ${applicationId}`;
    return n === 1;
  }
}
