import nodemailer from 'nodemailer';
const t = nodemailer.createTransport({ streamTransport: true, buffer: true });
const url = 'http://127.0.0.1:45678/unsubscribe/' + 'eyJ1IjoxLCJlIjoicHJvZCIsImMiOm51bGwsInQiOjE3NjQyNjAwMDB9' + '.' + 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ';
const info = await t.sendMail({ from: 'a@b.c', to: 'd@e.f', subject: 's', text: 'x', headers: { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } });
console.log(info.message.toString().split('\r\n\r\n')[0]);
