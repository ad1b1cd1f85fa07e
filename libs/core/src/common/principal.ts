/** Who is calling. Resolved from the API key by the API's auth guard; services receive it to scope queries. */
export type Principal =
  | { kind: 'admin' }
  | { kind: 'application'; applicationId: string; keyId: string }
  | { kind: 'support'; keyId: string };

export type PrincipalKind = Principal['kind'];
