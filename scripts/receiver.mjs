// `npm run receiver`: a demo webhook receiver on http://127.0.0.1:4000/webhook (PORT to change) that verifies
// Standard Webhooks signatures with the `standardwebhooks` package and prints each delivery.
// Set WEBHOOK_SECRET=whsec_... (the endpoint's secret) to verify; without it, it prints and warns.
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const port = Number(process.env.PORT ?? 4000);
const secret = process.env.WEBHOOK_SECRET;
const wh = secret ? new Webhook(secret) : null;

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let verdict = 'NOT VERIFIED (set WEBHOOK_SECRET)';
    if (wh) {
      try {
        wh.verify(body, req.headers);
        verdict = 'signature OK';
      } catch (err) {
        verdict = `signature INVALID: ${err.message}`;
        res.writeHead(401).end();
        console.log(`[receiver] ${req.headers['webhook-id']} ${verdict}`);
        return;
      }
    }
    console.log(
      `[receiver] ${new Date().toISOString()} webhook-id=${req.headers['webhook-id']} ${verdict}\n${body}`,
    );
    res.writeHead(204).end();
  });
}).listen(port, '127.0.0.1', () => console.log(`[receiver] listening on http://127.0.0.1:${port}/webhook`));
