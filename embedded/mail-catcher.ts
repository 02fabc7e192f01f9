/**
 * The local mail catcher that `npm start` runs when SMTP_URL is unset: an SMTP server that
 * keeps every email as an .eml file, and a small web page that lists and shows them.
 */
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { createServer, type Server } from 'node:http';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MailCatcher {
  smtpUrl: string;
  webUrl: string;
  close(): Promise<void>;
}

export async function startMailCatcher(options: { folder: string; smtpPort: number; webPort: number }): Promise<MailCatcher> {
  mkdirSync(options.folder, { recursive: true });
  let sequence = readdirSync(options.folder).length;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        sequence += 1;
        const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${String(sequence).padStart(6, '0')}.eml`;
        writeFileSync(join(options.folder, name), Buffer.concat(chunks));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(options.smtpPort, '127.0.0.1', resolve);
  });

  const web: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const file = url.pathname.slice(1);
    const files = readdirSync(options.folder).filter((f) => f.endsWith('.eml')).sort().reverse();
    const send = (status: number, html: string) => {
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      response.end(html);
    };
    if (file === '') {
      Promise.all(files.slice(0, 200).map(async (f) => ({ f, mail: await simpleParser(readFileSync(join(options.folder, f))) })))
        .then((mails) =>
          send(200, page('Herald mail catcher', `<p>${files.length} email(s) received. Newest first.</p><table>
            <tr><th>Received</th><th>To</th><th>Subject</th></tr>
            ${mails.map(({ f, mail }) => `<tr><td>${escape(mail.date?.toISOString() ?? '')}</td>
              <td>${escape(addresses(mail.to))}</td><td><a href="/${encodeURIComponent(f)}">${escape(mail.subject ?? '(no subject)')}</a></td></tr>`).join('')}
            </table>`)),
        )
        .catch((error: unknown) => send(500, escape(String(error))));
      return;
    }
    if (!files.includes(file)) return send(404, page('Not found', '<p>No such email.</p>'));
    simpleParser(readFileSync(join(options.folder, file)))
      .then((mail) => send(200, typeof mail.html === 'string' ? mail.html : page(mail.subject ?? '', `<pre>${escape(mail.text ?? '')}</pre>`)))
      .catch((error: unknown) => send(500, escape(String(error))));
  });
  await new Promise<void>((resolve, reject) => {
    web.once('error', reject);
    web.listen(options.webPort, '127.0.0.1', resolve);
  });

  return {
    smtpUrl: `smtp://127.0.0.1:${options.smtpPort}`,
    webUrl: `http://127.0.0.1:${options.webPort}`,
    close: async () => {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      await new Promise<void>((resolve) => web.close(() => resolve()));
    },
  };
}

function addresses(to: unknown): string {
  const list = Array.isArray(to) ? to : to ? [to] : [];
  return list.map((a: { text?: string }) => a.text ?? '').join(', ');
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title>
    <style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left;border-bottom:1px solid #ddd}</style>
    </head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}
