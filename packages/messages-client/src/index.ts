export * from './addresses.ts';
export * from './auth.ts';
export * from './body.ts';
export * from './channels.ts';
export * from './client.ts';
export * from './errors.ts';
export * from './messages.ts';
export * from './signatures.ts';
