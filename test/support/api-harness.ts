import assert from 'node:assert/strict';
import { INestApplication } from '@nestjs/common';
import { loadConfig } from '@tern/config';
import { AddressInfo } from 'node:net';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { applyTestEnv, TEST_ENV } from './test-env';

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A real API process-in-a-test on a loopback port, plus small helpers to call it. */
export class ApiHarness {
  private constructor(
    readonly app: INestApplication,
    readonly baseUrl: string,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<ApiHarness> {
    applyTestEnv(env);
    const app = await createApiApp(loadConfig());
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    return new ApiHarness(app, `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    await this.app.close();
  }

  async request<T = any>(
    method: string,
    path: string,
    opts: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<JsonResponse<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(this.baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** Creates an application (as admin) and returns its id and API key. */
  async createApplication(name = 'test app'): Promise<{ id: string; key: string }> {
    const r = await this.request('POST', '/v1/applications', { key: TEST_ENV.ADMIN_API_KEY, body: { name } });
    if (r.status !== 201) throw new Error(`createApplication: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.id, key: r.body.apiKey.key };
  }

  /** Creates an endpoint with the application `key` (201 asserted) and returns the response body. */
  async createEndpoint(key: string, body: Record<string, unknown>): Promise<any> {
    const r = await this.request('POST', '/v1/endpoints', { key, body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  }
}

/** The fields named in a 422 body's `fields[]`, each once, sorted. */
export function fieldsOf(body: { fields?: { field: string }[] }): string[] {
  return [...new Set((body.fields ?? []).map((f) => f.field))].sort();
}

export const ADMIN_KEY = TEST_ENV.ADMIN_API_KEY;
