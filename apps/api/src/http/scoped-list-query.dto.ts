import { ListEventsQueryDto } from '../events/list-events-query.dto';
import { ListQueryDto } from './list-query.dto';
import { ApplicationIdParam } from './query-fields';

// Lists of application-scoped resources that admin and support keys may read too: they name the application
// (ApplicationScope.required). Application keys may leave it out or name their own application.

export class ScopedListQueryDto extends ListQueryDto {
  @ApplicationIdParam()
  applicationId?: string;
}

export class ScopedListEventsQueryDto extends ListEventsQueryDto {
  @ApplicationIdParam()
  applicationId?: string;
}
