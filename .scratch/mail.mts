import { signInEmail } from '../email/sign-in-email.js';
const e = await signInEmail('a@b.c', [{ url: 'http://127.0.0.1:1/sign-in/abc-_DEF', account: 'acme', accountName: 'Acme & Co' }]);
console.log(e.html.match(/href="[^"]*"/g));
