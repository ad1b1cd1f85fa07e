-- Operational endpoints: they receive Tern's own events about the application's standard endpoints
-- (endpoint.disabled, delivery.failed, endpoint.recovered); application events go to standard endpoints only.
-- Adding a column with a constant default rewrites nothing (Postgres ≥ 11): a quick catalog change.

-- CreateEnum
CREATE TYPE "endpoint_kind" AS ENUM ('standard', 'operational');

-- AlterTable
ALTER TABLE "endpoints" ADD COLUMN "kind" "endpoint_kind" NOT NULL DEFAULT 'standard';
