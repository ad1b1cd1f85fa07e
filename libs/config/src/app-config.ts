import { Transform } from 'class-transformer';
import { DEFAULT_ALLOWED_PORTS } from '@tern/delivery-rules';
import { IsBoolean, IsIn, IsInt, IsNumber, IsString, Matches, Max, Min, MinLength } from 'class-validator';

/** LOG_FORMAT's values: `auto` = `pretty` when stdout is a terminal, else `json` (see resolveLogFormat). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'];

/** The admin key's minimum length: it signs in to everything, so it must not be guessable by brute force. */
export const ADMIN_API_KEY_MIN_LENGTH = 32;

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
};

/**
 * Every environment variable Tern reads, with its default. Validated once at boot by `loadConfig()`;
 * README.md lists the same names (test/readme.e2e-spec.ts keeps the two in step).
 */
export class AppConfig {
  // ---- processes -------------------------------------------------------------------------------------------
  @IsIn(['development', 'production', 'test'])
  NODE_ENV = 'development';

  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @MinLength(1)
  HOST = '127.0.0.1';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** `pretty`: one readable line per log; `json`: one JSON object per line; `auto`: pretty on a terminal only. */
  @IsIn(LOG_FORMATS)
  LOG_FORMAT = 'auto';

  // ---- storage ---------------------------------------------------------------------------------------------
  @Matches(/^postgres(ql)?:\/\//, { message: 'must be a postgresql:// URL' })
  DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/tern';

  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Matches(/^rediss?:\/\//, { message: 'must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Prefix of every BullMQ key in Redis (lets several Tern installs or test runs share one Redis). */
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 letters, digits, _ or -' })
  QUEUE_PREFIX = 'tern';

  @Transform(toBool)
  @IsBoolean()
  MIGRATE_ON_START = true;

  // ---- auth and secrets ------------------------------------------------------------------------------------
  @IsString()
  @MinLength(ADMIN_API_KEY_MIN_LENGTH, { message: `must be at least ${ADMIN_API_KEY_MIN_LENGTH} characters` })
  ADMIN_API_KEY = '';

  /** base64 of 32 bytes: the AES-256-GCM master key that encrypts endpoint secrets at rest. */
  @Matches(/^[A-Za-z0-9+/]{43}=$/, {
    message: 'must be base64 of exactly 32 bytes (openssl rand -base64 32)',
  })
  SECRETS_ENCRYPTION_KEY = '';

  @IsInt()
  @Min(1)
  @Max(1_000_000)
  SECRETS_ENCRYPTION_KEY_VERSION = 1;

  /** Older master keys still needed to decrypt, as "version:base64key" pairs separated by commas. */
  @Matches(/^$|^(\d+:[A-Za-z0-9+/]{43}=)(,\d+:[A-Za-z0-9+/]{43}=)*$/, {
    message: 'must be empty or "version:base64key" pairs separated by commas',
  })
  SECRETS_ENCRYPTION_PREVIOUS_KEYS = '';

  /** How long a rotated-out secret keeps signing next to the new one. */
  @IsInt()
  @Min(0)
  @Max(30 * 86400)
  SECRET_ROTATION_OVERLAP_SECONDS = 86400;

  /** How long a verified API key is trusted without a database lookup (0 = always look up). Revoking a key
   * clears this process's cache at once; other API processes notice within this time. */
  @IsInt()
  @Min(0)
  @Max(60_000)
  API_KEY_CACHE_TTL_MS = 2000;

  // ---- ingestion limits ------------------------------------------------------------------------------------
  @IsInt()
  @Min(1)
  @Max(30 * 86400)
  IDEMPOTENCY_WINDOW_SECONDS = 86400;

  /** Largest event payload (its JSON text as sent, in UTF-8 bytes) accepted; above it the request gets 413. */
  @IsInt()
  @Min(1024)
  @Max(16 * 1024 * 1024)
  MAX_PAYLOAD_BYTES = 256 * 1024;

  /**
   * Deepest nesting of objects and arrays accepted in a payload (the payload object is level 1); deeper: 422.
   * Far above what webhooks carry; the ceiling keeps the payload parser (one stack frame per level) safe.
   */
  @IsInt()
  @Min(2)
  @Max(1000)
  MAX_PAYLOAD_DEPTH = 100;

  @IsInt()
  @Min(1)
  @Max(5000)
  MAX_BATCH_SIZE = 500;

  /**
   * Most live (not deleted) endpoints an application may have, operational ones included; creating one more
   * answers 422. Checked under a lock on the application row, so concurrent creates can't overshoot.
   */
  @IsInt()
  @Min(1)
  @Max(100_000)
  MAX_ENDPOINTS_PER_APPLICATION = 100;

  /** Largest endpoint `filter`, in UTF-8 bytes of its JSON (as sent, and compacted); above it: 422. */
  @IsInt()
  @Min(256)
  @Max(65_536)
  ENDPOINT_FILTER_MAX_BYTES = 4096;

  /**
   * Deepest endpoint `filter` (the filter object is level 1; each extra segment of a dotted key counts as a level:
   * see payload-filter.ts); deeper: 422. The ceiling keeps matching (one stack frame per level) safe.
   */
  @IsInt()
  @Min(2)
  @Max(64)
  ENDPOINT_FILTER_MAX_DEPTH = 16;

  /**
   * Most deliveries one request may create (events × the endpoints subscribed to each); above it the batch is
   * refused with 413 and nothing is written. Must be ≥ MAX_ENDPOINTS_PER_APPLICATION, so one event always fits.
   */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MAX_DELIVERIES_PER_REQUEST = 10_000;

  /**
   * Failed authentications (a key presented that is unknown, revoked or wrong; dashboard sign-ins included) one
   * client IP may make per AUTH_FAILURE_WINDOW_SECONDS; past it the address gets 429 + Retry-After.
   */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  AUTH_FAILURES_PER_IP = 30;

  /** Failed authentications with one key id from one client IP per window (a success clears it); then 429. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  AUTH_FAILURES_PER_KEY_PER_IP = 10;

  /** The window of the failed-authentication budgets, from the first failure. */
  @IsInt()
  @Min(1)
  @Max(86_400)
  AUTH_FAILURE_WINDOW_SECONDS = 300;

  /** Largest HTTP request body (a batch of events); above it the request gets 413. */
  @IsInt()
  @Min(64 * 1024)
  @Max(512 * 1024 * 1024)
  MAX_REQUEST_BODY_BYTES = 16 * 1024 * 1024;

  @IsInt()
  @Min(1)
  @Max(1000)
  PAGE_SIZE_DEFAULT = 50;

  @IsInt()
  @Min(1)
  @Max(1000)
  PAGE_SIZE_MAX = 200;

  @IsInt()
  @Min(1)
  @Max(100)
  MAX_ENDPOINT_HEADERS = 20;

  /** Largest total size (names + values, UTF-8 bytes) of an endpoint's custom headers. */
  @IsInt()
  @Min(256)
  @Max(64 * 1024)
  MAX_ENDPOINT_HEADERS_BYTES = 4096;

  // ---- delivery --------------------------------------------------------------------------------------------
  @IsInt()
  @Min(100)
  @Max(60_000)
  DELIVERY_CONNECT_TIMEOUT_MS = 5000;

  /** One total deadline per attempt: connect, send, headers and body. */
  @IsInt()
  @Min(100)
  @Max(300_000)
  DELIVERY_ATTEMPT_TIMEOUT_MS = 15_000;

  /** How much of a response body is kept in the attempt log; the rest is discarded unread. */
  @IsInt()
  @Min(0)
  @Max(1024 * 1024)
  DELIVERY_RESPONSE_BODY_MAX_BYTES = 4096;

  /** No attempt starts later than this after the event was accepted. */
  @IsInt()
  @Min(1)
  @Max(30 * 86400)
  DELIVERY_DEADLINE_SECONDS = 86400;

  /** Most failed deliveries one POST /v1/endpoints/{id}/recover call puts back in the queue (the rest: call again). */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RECOVER_MAX_DELIVERIES = 10_000;

  /** First retry delay; each next one doubles, with jitter, up to RETRY_MAX_DELAY_MS. */
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  RETRY_BASE_DELAY_MS = 5000;

  @IsInt()
  @Min(1)
  @Max(86_400_000)
  RETRY_MAX_DELAY_MS = 2 * 3600 * 1000;

  /** Jitter as a fraction of each delay (0.2 = ±20 %). */
  @IsNumber()
  @Min(0)
  @Max(1)
  RETRY_JITTER = 0.2;

  /** CIDRs deliveries may reach although they are not public unicast (e.g. "127.0.0.0/8,::1/128" for local dev). */
  @Matches(/^[0-9A-Fa-f:.,/ ]*$/, { message: 'must be a comma-separated list of CIDRs' })
  SSRF_ALLOW_CIDRS = '';

  /**
   * TCP ports deliveries may reach: ports and inclusive ranges, comma-separated. Checked when an endpoint is created
   * or updated (422) and before every attempt (destination_blocked). Default: the web ports and every unprivileged
   * port.
   */
  @IsString()
  DELIVERY_ALLOWED_PORTS = DEFAULT_ALLOWED_PORTS;

  @IsInt()
  @Min(1)
  @Max(5000)
  WORKER_CONCURRENCY = 400;

  /**
   * Most deliveries of one endpoint released at once (queued or being attempted), across all worker processes;
   * an endpoint's own `maxInFlight` overrides it.
   */
  @IsInt()
  @Min(1)
  @Max(1000)
  ENDPOINT_MAX_IN_FLIGHT = 200;

  /** Consecutive failed attempts to an endpoint that open its circuit (no attempts until a probe succeeds). */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  CIRCUIT_FAILURE_THRESHOLD = 10;

  /**
   * How long those consecutive failures must have lasted (from the first) to open the circuit: a chance run of
   * failures on a busy endpoint that mostly works doesn't open it. 0 = the count alone.
   */
  @IsInt()
  @Min(0)
  @Max(86_400)
  CIRCUIT_FAILURE_MIN_SECONDS = 10;

  /** First cool-down of an open circuit before its probe; each failed probe doubles it. */
  @IsInt()
  @Min(1)
  @Max(86_400)
  CIRCUIT_COOLDOWN_MIN_SECONDS = 30;

  /** Longest cool-down of an open circuit (at least CIRCUIT_COOLDOWN_MIN_SECONDS). */
  @IsInt()
  @Min(1)
  @Max(86_400)
  CIRCUIT_COOLDOWN_MAX_SECONDS = 1800;

  /**
   * An endpoint whose attempts kept failing with no success for this long is disabled (reason `failing`), its
   * pending deliveries failed, `endpoint.disabled` sent. 0 = never.
   */
  @IsInt()
  @Min(0)
  @Max(31_536_000)
  ENDPOINT_DISABLE_AFTER_SECONDS = 432_000;

  /** Most deliveries of one endpoint one BullMQ job carries (attempted concurrently by the worker that takes it). */
  @IsInt()
  @Min(1)
  @Max(1000)
  DELIVERY_JOB_MAX_DELIVERIES = 50;

  /** BullMQ job lock: a job whose worker stops renewing it (crash, kill) is taken back after about this long. */
  @IsInt()
  @Min(1000)
  @Max(600_000)
  JOB_LOCK_DURATION_MS = 30_000;

  /** How often each worker looks for stalled jobs (locks that expired). */
  @IsInt()
  @Min(500)
  @Max(600_000)
  JOB_STALLED_INTERVAL_MS = 30_000;

  /** Most deliveries one dispatch cycle releases (shared fairly between applications). */
  @IsInt()
  @Min(1)
  @Max(10_000)
  DISPATCH_BATCH_SIZE = 1000;

  /** Most endpoints one dispatch cycle considers (least recently served first). */
  @IsInt()
  @Min(1)
  @Max(10_000)
  DISPATCH_ENDPOINTS_PER_CYCLE = 500;

  /**
   * Priorities (issue #12): an endpoint's releases are shared between the levels with due work in these
   * proportions (weighted round robin, splitByPriority in @tern/delivery-rules); a level without due work leaves its
   * share to the others. ≥ 1 each, so no level starves.
   */
  @IsInt()
  @Min(1)
  @Max(1000)
  PRIORITY_WEIGHT_HIGH = 8;

  @IsInt()
  @Min(1)
  @Max(1000)
  PRIORITY_WEIGHT_NORMAL = 2;

  @IsInt()
  @Min(1)
  @Max(1000)
  PRIORITY_WEIGHT_LOW = 1;

  /**
   * The dispatcher's poll when nothing wakes it (NOTIFY on ingest, a recorded attempt in this process, the next
   * retry falling due).
   */
  @IsInt()
  @Min(10)
  @Max(600_000)
  DISPATCH_INTERVAL_MS = 1000;

  @IsInt()
  @Min(100)
  @Max(3_600_000)
  RECONCILER_INTERVAL_MS = 30_000;

  /**
   * A delivery released this long ago whose attempt has not started (its job was lost: Redis wiped, worker killed)
   * is released again by the reconciler.
   */
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  RECONCILER_GRACE_MS = 60_000;

  /**
   * A known attempt result whose write failed (Postgres restarting) is written again, waiting this long first and
   * doubling up to RECORD_RETRY_MAX_DELAY_MS, until the attempt would be presumed lost
   * (DELIVERY_ATTEMPT_TIMEOUT_MS + RECONCILER_GRACE_MS after its claim).
   */
  @IsInt()
  @Min(10)
  @Max(60_000)
  RECORD_RETRY_BASE_DELAY_MS = 200;

  @IsInt()
  @Min(10)
  @Max(60_000)
  RECORD_RETRY_MAX_DELAY_MS = 500;

  @IsInt()
  @Min(0)
  @Max(3_600_000)
  ENDPOINT_CACHE_TTL_MS = 30_000;

  /** On SIGTERM, how long in-flight attempts may take before the process exits anyway. */
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_GRACE_MS = 20_000;

  // ---- web dashboard and customer portal -------------------------------------------------------------------
  /** How long a portal link (POST /v1/portal-links) can be opened. */
  @IsInt()
  @Min(60)
  @Max(7 * 86400)
  PORTAL_LINK_TTL_SECONDS = 3600;

  /**
   * Longest portal session: an opened portal link lasts until this or the link's own expiry, whichever is first.
   */
  @IsInt()
  @Min(60)
  @Max(7 * 86400)
  PORTAL_SESSION_TTL_SECONDS = 3600;

  /** How long a dashboard sign-in lasts before the browser must sign in again. */
  @IsInt()
  @Min(300)
  @Max(30 * 86400)
  DASHBOARD_SESSION_TTL_SECONDS = 28_800;

  /** The API's address as browsers reach it (portal link URLs, Secure cookies when https); empty = the request's. */
  @Matches(/^$|^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message: 'must be empty or an http(s):// URL without query',
  })
  PUBLIC_URL = '';

  // ---- observability, operational events, retention ----------------------------------------------------------
  /** When set, GET /metrics (API and worker) needs "Authorization: Bearer <token>"; empty = public. */
  @Matches(/^$|^[\x21-\x7e]{16,256}$/, { message: 'must be empty or 16-256 printable ASCII characters' })
  METRICS_TOKEN = '';

  /** Port of the worker's own metrics server (GET /metrics, bound to HOST); 0 = no server. */
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_METRICS_PORT = 9464;

  /** endpoint.recovered is sent on the first success after at least this many failed attempts in a row. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  ENDPOINT_RECOVERED_AFTER_FAILURES = 5;

  /** Events and attempts older than this many days are deleted by the worker; 0 = keep forever. */
  @IsInt()
  @Min(0)
  @Max(36_500)
  RETENTION_DAYS = 30;

  /** How often each worker runs the retention purge. */
  @IsInt()
  @Min(1000)
  @Max(7 * 86_400_000)
  RETENTION_INTERVAL_MS = 3_600_000;

  /** Rows deleted per statement (each its own short transaction) by the retention purge. */
  @IsInt()
  @Min(1)
  @Max(100_000)
  RETENTION_BATCH_SIZE = 1000;
}
