import { ArgumentMetadata, Injectable, PipeTransform, Type } from '@nestjs/common';
import { InvalidInputError, isPlainObject } from '@tern/core';
import { createValidationPipe } from '../http/validation.pipe';
import { CreateEventBatchDto } from './create-event-batch.dto';
import { CreateEventDto } from './create-event.dto';

/**
 * Validates an event body (single or batch) like the global ValidationPipe does, but hands each `payload` on
 * untouched: class-transformer would deep-copy it (slow for large payloads), silently drop `__proto__` keys and
 * overflow the stack on deeply nested ones. Payloads are swapped for `{}` while the DTO is validated and put
 * back afterwards. Routes using it type their body param as an interface, so the global pipe skips it.
 */
@Injectable()
export class EventInputPipe implements PipeTransform {
  private readonly validation = createValidationPipe();

  private constructor(private readonly dto: Type<CreateEventDto> | Type<CreateEventBatchDto>) {}

  static single(): EventInputPipe {
    return new EventInputPipe(CreateEventDto);
  }

  static batch(): EventInputPipe {
    return new EventInputPipe(CreateEventBatchDto);
  }

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (value !== undefined && !isPlainObject(value)) {
      throw new InvalidInputError([{ field: 'body', reason: 'must be a JSON object' }]);
    }
    const body = value ?? {};
    const meta: ArgumentMetadata = { ...metadata, metatype: this.dto };
    if (this.dto === CreateEventDto) {
      const dto = (await this.validation.transform(stripPayload(body), meta)) as CreateEventDto;
      if (isPlainObject(body.payload)) dto.payload = body.payload;
      return dto;
    }
    const events = body.events;
    // Not an array: validated as null, else class-transformer makes a CreateEventDto of an object and the
    // answer lists events.eventType and events.payload besides events.
    const stripped = {
      ...body,
      ...(events === undefined ? {} : { events: Array.isArray(events) ? events.map(stripPayload) : null }),
    };
    const dto = (await this.validation.transform(stripped, meta)) as CreateEventBatchDto;
    dto.events.forEach((e, i) => {
      const original = (events as unknown[])[i];
      if (isPlainObject(original) && isPlainObject(original.payload)) e.payload = original.payload;
    });
    return dto;
  }
}

function stripPayload(item: unknown): unknown {
  return isPlainObject(item) && isPlainObject(item.payload) ? { ...item, payload: {} } : item;
}
