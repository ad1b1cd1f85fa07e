import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { WEB_ASSETS } from './web-assets';

/** The dashboard's and portal's stylesheet and script. URLs carry a content hash: cached for a year. */
@ApiExcludeController()
@Controller('dashboard/assets')
export class WebAssetsController {
  @Get(':hash/:name')
  get(@Param('hash') hash: string, @Param('name') name: string, @Res() res: Response): void {
    const asset = Object.values(WEB_ASSETS).find((a) => a.url.endsWith(`/${name}`));
    if (!asset) throw new NotFoundException('No such file');
    const current = asset.url === `/dashboard/assets/${hash}/${name}`;
    res
      .status(200)
      .set({
        'content-type': asset.type,
        'cache-control': current ? 'public, max-age=31536000, immutable' : 'no-cache',
        'x-content-type-options': 'nosniff',
      })
      .send(asset.body);
  }
}
