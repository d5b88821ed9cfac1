import type { FastifyInstance } from 'fastify';
import { signedInPage } from '../page';
import { sendPage } from '../render';

/** Sections not built yet: a page of the layout saying so, so the menu leads nowhere broken. */
const NOT_YET: string[] = [];

export function comingSoonPages(app: FastifyInstance): void {
  for (const path of NOT_YET)
    app.get(
      path,
      signedInPage(async ({ me, req, reply }) =>
        sendPage(req, reply, 'soon', { title: 'soon.title', me, csrf: me.csrfToken }),
      ),
    );
}
