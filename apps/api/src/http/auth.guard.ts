import {
  CanActivate,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeysService, DomainError, Principal, PrincipalKind } from '@tern/core';
import type { Request } from 'express';
import { bearerToken } from './api-authentication.middleware';

const ROLES_KEY = 'tern:roles';

/** Which principals may call a route. Routes without it are public (health, docs). */
export const Auth = (...kinds: PrincipalKind[]) => SetMetadata(ROLES_KEY, kinds);

type AuthedRequest = Request & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw new UnauthorizedException('Missing API key');
  return principal;
});

/** Application scope of a principal; admin and support keys have none. */
export function applicationIdOf(p: Principal): string {
  if (p.kind !== 'application') throw new DomainError(403, 'This route needs an application API key');
  return p.applicationId;
}

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const kinds = this.reflector.getAllAndOverride<PrincipalKind[] | undefined>(ROLES_KEY, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!kinds) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    // Normally apiAuthentication (ahead of the body parser) has authenticated the request already; it leaves it
    // to this guard when the key could not be checked (Postgres down), so the error is mapped as usual.
    const principal = req.principal ?? (await this.authenticate(req));
    if (!kinds.includes(principal.kind)) {
      throw new DomainError(403, `This route is not available to ${principal.kind} keys`);
    }
    req.principal = principal;
    return true;
  }

  private async authenticate(req: AuthedRequest): Promise<Principal> {
    const token = bearerToken(req);
    if (!token) throw new UnauthorizedException('Missing API key: send "Authorization: Bearer <key>"');
    const principal = await this.apiKeys.authenticate(token);
    if (!principal) throw new UnauthorizedException('Invalid API key');
    return principal;
  }
}
