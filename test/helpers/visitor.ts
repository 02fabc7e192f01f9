/** A browser without a screen: keeps cookies, reads forms' CSRF tokens, follows nothing by itself. */
export class Visitor {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  async request(method: string, path: string, form?: Record<string, string>) {
    const response = await fetch(new URL(path, this.base), {
      method,
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(form && { body: new URLSearchParams(form).toString() }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=');
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name!);
      else this.cookies.set(name!, value!);
    }
    return { status: response.status, location: response.headers.get('location'), setCookie: response.headers.getSetCookie(), html: await response.text() };
  }

  get(path: string) {
    return this.request('GET', path);
  }

  /** Submits a form of the page at `path` (the first of its main part, or the one posting to `action`), with its CSRF token and these fields. */
  async submit(path: string, fields: Record<string, string> = {}, action?: string) {
    const page = await this.get(path);
    const forms = [...page.html.replace(/<header>[\s\S]*?<\/header>/, action ? '$&' : '').matchAll(/<form method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => !action || f[1] === action);
    if (!form) throw new Error(`no form on ${path}:\n${page.html}`);
    const hidden = Object.fromEntries([...form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, decode(m[2]!)]));
    return this.request('POST', decode(form[1]!), { ...hidden, ...fields });
  }
}

export const decode = (text: string) => text.replaceAll('&amp;', '&').replaceAll('&#x3D;', '=').replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
