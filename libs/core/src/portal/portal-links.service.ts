import { Injectable } from '@nestjs/common';
import { AppConfig } from '@tern/config';
import { ApplicationsService } from '../applications/applications.service';
import { DomainError, NotFoundError } from '../common/errors';
import { checkPortalLinkToken, makePortalLinkToken } from './portal-link-token';
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
 * expiry, nonce); it can be opened any number of times until PORTAL_LINK_TTL_SECONDS after it was made.
 */
@Injectable()
export class PortalLinksService {
  private readonly key: Buffer;

  constructor(
    private readonly config: AppConfig,
    private readonly applications: ApplicationsService,
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
   * The application a portal link opens. 401 when the token is forged or damaged, 410 when it expired, 404 when
   * the application no longer exists.
   */
  async open(token: string, now = new Date()): Promise<{ applicationId: string; linkExpiresAt: Date }> {
    const check = checkPortalLinkToken(this.key, token.trim(), now);
    if (!check.ok) {
      throw check.reason === 'expired'
        ? new DomainError(410, 'This portal link has expired')
        : new DomainError(401, 'This is not a valid portal link');
    }
    try {
      await this.applications.get(check.claims.applicationId);
    } catch (err) {
      if (err instanceof NotFoundError)
        throw new DomainError(404, 'The application of this portal link is gone');
      throw err;
    }
    return { applicationId: check.claims.applicationId, linkExpiresAt: check.claims.expiresAt };
  }
}
