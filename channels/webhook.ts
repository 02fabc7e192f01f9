/**
 * A signed webhook (S43): the event itself as JSON, signed per Standard Webhooks with the
 * channel's secret. Its `webhook-id` is the message's: the same on every attempt and no other
 * message's anywhere (S49), so that a receiver drops what it already took.
 */
import { Webhook } from 'standardwebhooks';
import type { Transport } from './transport.js';

export const webhookTransport: Transport = {
  requests(event, message, signedAt) {
    const body = JSON.stringify(event);
    // A message planned before public ids keeps the number its earlier attempts carried.
    const id = `msg_${message.publicId ?? message.formerId ?? message.id}`;
    const signature = new Webhook(message.channel.secret!).sign(id, signedAt, body);
    return [
      {
        url: message.channel.url,
        body,
        headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)), 'webhook-signature': signature },
      },
    ];
  },
};
