/** Which applications a query may see: one, or (undefined) all of them — admin and support keys. */
export interface QueryScope {
  applicationId?: string;
}
