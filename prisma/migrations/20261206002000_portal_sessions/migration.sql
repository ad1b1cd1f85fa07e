-- Portal sessions (issue #8 finding 4). Every portal session carries its application's epoch at sign-in; bumping
-- the epoch (an application API key revoked, or POST /v1/applications/:id/portal-sessions/revoke) ends them all.
ALTER TABLE "applications" ADD COLUMN "portal_session_epoch" INTEGER NOT NULL DEFAULT 0;

-- A portal link opens once: its nonce is recorded here when it is used, until the link's own expiry.
CREATE TABLE "portal_link_uses" (
    "nonce" TEXT NOT NULL,
    "application_id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "portal_link_uses_pkey" PRIMARY KEY ("nonce")
);

CREATE INDEX "portal_link_uses_expires_at_idx" ON "portal_link_uses"("expires_at");

ALTER TABLE "portal_link_uses" ADD CONSTRAINT "portal_link_uses_application_id_fkey" FOREIGN KEY ("application_id") REFERENCES "applications"("id") ON DELETE CASCADE ON UPDATE CASCADE;
