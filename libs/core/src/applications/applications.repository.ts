import { Injectable } from '@nestjs/common';
import { PrismaService } from '@tern/database';
import { keysetAfter, newestFirst, PageCursor } from '../common/pagination';

export interface ApplicationRecord {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

@Injectable()
export class ApplicationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Names of the given applications, in one query; unknown ids are left out. */
  async names(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.prisma.application.findMany({
      where: { id: { in: [...new Set(ids)] } },
      select: { id: true, name: true },
    });
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  create(data: { id: string; name: string }): Promise<ApplicationRecord> {
    return this.prisma.application.create({ data });
  }

  findById(id: string): Promise<ApplicationRecord | null> {
    return this.prisma.application.findUnique({ where: { id } });
  }

  list(limit: number, after?: PageCursor): Promise<ApplicationRecord[]> {
    return this.prisma.application.findMany({
      where: keysetAfter(after),
      orderBy: newestFirst(),
      take: limit + 1,
    });
  }
}
