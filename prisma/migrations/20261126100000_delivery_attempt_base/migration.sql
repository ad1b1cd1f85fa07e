-- AlterTable: attempts made before the current series; a redelivery starts a new series whose backoff starts over.
ALTER TABLE "deliveries" ADD COLUMN "attempt_base" INTEGER NOT NULL DEFAULT 0;
