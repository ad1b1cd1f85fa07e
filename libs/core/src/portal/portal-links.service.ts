import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { DomainError } from '../common/errors';
import { checkPortalLinkToken, makePortalLinkToken } from './portal-link-token';
import { PortalSessionsRepository } from './portal-sessions.repository';
import { deriveWebKey } from './web-keys';

export interface PortalLinkView {
  /** Open in a browser: signs in to the application's portal. The token is in the fragment (never sent in logs). */
  url: string;
  expiresAt: string;
}

/** Path of the page that turns a portal link into a portal session. */
export const PORTAL_ENTER_PATH = '/portal/enter';

/**
 * Short-lived, application-scoped links to the customer portal. A link carries a signed token (application id,
 * expiry, nonce); it opens once, within PORTAL_LINK_TTL_SECONDS after it was made. The portal session it starts
 * lasts until the link's expiry or PORTAL_SESSION_TTL_SECONDS, whichever comes first, and ends early when the
 * application's portal sessions are ended (an API key of it revoked, or endSessions).
 */
@Injectable()
export class PortalLinksService {
  private readonly key: Buffer;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: PortalSessionsRepository,
  ) {
    this.key = deriveWebKey(config, 'portal-link');
  }

  /** `baseUrl`: where browsers reach the API (PUBLIC_URL, or the request's own address). */
  create(applicationId: string, baseUrl: string, now = new Date()): PortalLinkView {
    const expiresAt = new Date(now.getTime() + this.config.PORTAL_LINK_TTL_SECONDS * 1000);
    expiresAt.setMilliseconds(0);
    const token = makePortalLinkToken(this.key, applicationId, expiresAt);
    return {
      url: `${baseUrl.replace(/\/+$/, '')}${PORTAL_ENTER_PATH}#token=${token}`,
      expiresAt: expiresAt.toISOString(),
    };
  }

  /**
   * Opens a portal link (once): the application it opens, until when the session may last, and the application's
   * portal session epoch. 401 when the token is forged or damaged, 410 when it expired or was already used, 404
   * when the application no longer exists.
   */
  async open(token: string, now = new Date()): Promise<OpenedPortalLink> {
    const check = checkPortalLinkToken(this.key, token.trim(), now);
    if (!check.ok) {
      throw check.reason === 'expired'
        ? new DomainError(410, 'This portal link has expired')
        : new DomainError(401, 'This is not a valid portal link');
    }
    const { applicationId, expiresAt, nonce } = check.claims;
    const use = await this.repo.useLink(nonce, applicationId, expiresAt);
    if ('refused' in use) {
      throw use.refused === 'used'
        ? new DomainError(410, 'This portal link has already been used: ask for a new one')
        : new DomainError(404, 'The application of this portal link is gone');
    }
    const ttlEnd = new Date(now.getTime() + this.config.PORTAL_SESSION_TTL_SECONDS * 1000);
    return {
      applicationId,
      applicationName: use.applicationName,
      sessionExpiresAt: expiresAt < ttlEnd ? expiresAt : ttlEnd,
      epoch: use.epoch,
    };
  }

  /** Whether a portal session started under `epoch` is still valid for the application. */
  async sessionValid(applicationId: string, epoch: number): Promise<boolean> {
    return (await this.repo.epoch(applicationId)) === epoch;
  }

  /** Ends every portal session of the application. 404 when it doesn't exist. */
  async endSessions(applicationId: string): Promise<void> {
    if (!(await this.repo.endSessions(applicationId)))
      throw new DomainError(404, `application ${applicationId} not found`);
  }
}

export interface OpenedPortalLink {
  applicationId: string;
  /** Shown in the portal's header. */
  applicationName: string;
  /** The link's expiry or now + PORTAL_SESSION_TTL_SECONDS, whichever is first. */
  sessionExpiresAt: Date;
  /** The application's portal session epoch: the session is valid while it is unchanged. */
  epoch: number;
}
