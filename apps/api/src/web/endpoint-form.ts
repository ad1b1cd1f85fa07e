import {
  ENDPOINT_DESCRIPTION_MAX_LENGTH,
  ENDPOINT_EVENT_TYPES_MAX,
  ENDPOINT_URL_MAX_LENGTH,
  EVENT_TYPE_PATTERN,
  FieldProblem,
} from '@tern/core';
import { csrfField, fieldErrors, otherErrors } from './components';
import { Html, html } from './html';
import { field, WebRequest } from './web-auth';

export interface EndpointFormValues {
  url: string;
  description: string;
  /** As typed: names separated by commas, spaces or new lines. */
  eventTypes: string;
  disabled: boolean;
  disabledReason: string;
  /** The payload filter's JSON text as typed; empty = none. */
  filter: string;
}

export interface EndpointFormInput {
  url: string;
  description: string;
  eventTypes: string[];
  disabled: boolean;
  disabledReason: string;
  /** The filter's JSON text (checked by the service), or null for none. */
  filter: string | null;
}

/** Reads the endpoint form and checks what the API's DTOs check (types and sizes); the service checks the rest. */
export function readEndpointForm(req: WebRequest): {
  values: EndpointFormValues;
  input: EndpointFormInput;
  problems: FieldProblem[];
} {
  const values: EndpointFormValues = {
    url: field(req, 'url').trim(),
    description: field(req, 'description').trim(),
    eventTypes: field(req, 'eventTypes'),
    disabled: field(req, 'disabled') === 'on',
    disabledReason: field(req, 'disabledReason').trim(),
    filter: field(req, 'filter').trim(),
  };
  const eventTypes = values.eventTypes.split(/[\s,]+/).filter((t) => t !== '');
  const problems: FieldProblem[] = [];
  if (values.url === '') problems.push({ field: 'url', reason: 'is required' });
  else if (values.url.length > ENDPOINT_URL_MAX_LENGTH) {
    problems.push({ field: 'url', reason: `must be at most ${ENDPOINT_URL_MAX_LENGTH} characters` });
  }
  if (values.description.length > ENDPOINT_DESCRIPTION_MAX_LENGTH) {
    problems.push({
      field: 'description',
      reason: `must be at most ${ENDPOINT_DESCRIPTION_MAX_LENGTH} characters`,
    });
  }
  if (eventTypes.length > ENDPOINT_EVENT_TYPES_MAX) {
    problems.push({
      field: 'eventTypes',
      reason: `must list at most ${ENDPOINT_EVENT_TYPES_MAX} event types`,
    });
  }
  for (const t of eventTypes) {
    if (!EVENT_TYPE_PATTERN.test(t)) {
      problems.push({
        field: 'eventTypes',
        reason: `include "${t.slice(0, 140)}": an event type is 1-128 letters, digits, "_", ".", ":" or "-"`,
      });
    }
  }
  if (values.disabledReason.length > 500) {
    problems.push({ field: 'disabledReason', reason: 'must be at most 500 characters' });
  }
  return {
    values,
    input: {
      ...values,
      eventTypes: [...new Set(eventTypes)],
      filter: values.filter === '' ? null : values.filter,
    },
    problems,
  };
}

const SHOWN = ['url', 'description', 'eventTypes', 'filter', 'disabled', 'disabledReason'];

export function endpointForm(o: {
  action: string;
  values: EndpointFormValues;
  problems: FieldProblem[];
  csrf: string | null;
  submitLabel: string;
  /** Edit form: the disabled switch and its reason. */
  withDisabled: boolean;
}): Html {
  const v = o.values;
  const invalid = (f: string) =>
    o.problems.some((p) => p.field === f || p.field.startsWith(`${f}[`) || p.field.startsWith(`${f}.`))
      ? ' invalid'
      : '';
  return html`<form class="stack" method="post" action="${o.action}" novalidate>
    ${csrfField(o.csrf)} ${otherErrors(o.problems, SHOWN)}
    <div class="field${invalid('url')}">
      <label for="url"
        >URL <span class="hint">where Tern POSTs your webhooks (https recommended)</span></label
      >
      <input
        class="mono"
        type="url"
        id="url"
        name="url"
        value="${v.url}"
        placeholder="https://example.com/webhooks"
        required
      />
      ${fieldErrors(o.problems, 'url')}
    </div>
    <div class="field${invalid('description')}">
      <label for="description">Description <span class="hint">optional</span></label>
      <input
        type="text"
        id="description"
        name="description"
        value="${v.description}"
        placeholder="Production billing"
      />
      ${fieldErrors(o.problems, 'description')}
    </div>
    <div class="field${invalid('eventTypes')}">
      <label for="eventTypes"
        >Event types <span class="hint">separated by commas or spaces; empty = every event type</span></label
      >
      <textarea id="eventTypes" name="eventTypes" placeholder="invoice.paid, invoice.voided">
${v.eventTypes}</textarea>
      ${fieldErrors(o.problems, 'eventTypes')}
    </div>
    <div class="field${invalid('filter')}">
      <label for="filter"
        >Payload filter
        <span class="hint"
          >optional JSON, matched against {"type", "data"}: only matching events are delivered; empty = every
          event</span
        ></label
      >
      <textarea class="mono" id="filter" name="filter" placeholder='{"data.total": {"$gte": 100}}'>
${v.filter}</textarea>
      ${fieldErrors(o.problems, 'filter')}
    </div>
    ${
      o.withDisabled
        ? html`<div class="field${invalid('disabled')}">
              <label class="check"
                ><input type="checkbox" name="disabled" ${v.disabled ? 'checked' : ''} /> Disabled
                <span class="hint">(no deliveries; disabling fails the deliveries still pending)</span></label
              >
              ${fieldErrors(o.problems, 'disabled')}
            </div>
            <div class="field${invalid('disabledReason')}">
              <label for="disabledReason">Reason for disabling <span class="hint">optional</span></label>
              <input type="text" id="disabledReason" name="disabledReason" value="${v.disabledReason}" />
              ${fieldErrors(o.problems, 'disabledReason')}
            </div>`
        : ''
    }
    <div><button class="btn primary" type="submit">${o.submitLabel}</button></div>
  </form>`;
}
