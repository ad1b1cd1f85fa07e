/** Domain errors thrown by services; the API's exception filter maps them to HTTP statuses. */
export interface FieldProblem {
  field: string;
  reason: string;
}

export class DomainError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields?: FieldProblem[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id?: string) {
    super(404, id ? `${what} ${id} not found` : `${what} not found`);
  }
}

export class InvalidInputError extends DomainError {
  constructor(fields: FieldProblem[], status = 422) {
    super(status, 'Validation failed', fields);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(message: string, fields?: FieldProblem[]) {
    super(413, message, fields);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super(409, message);
  }
}
